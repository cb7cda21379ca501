"""The boundary: every byte that comes in or goes out passes one guard here.

``archives`` opens every zip (limits on members, sizes, ratios, names);
``output`` owns ``-o`` (staged folders moved into place, never deleting a file
labelport did not write); ``egress`` decides which hosts a webhook may reach;
``private``, ``sealed`` and ``redaction`` keep the job store's secrets out of
other users' reach, out of the store in the clear and out of messages;
``processes`` tells a live process from a dead one.

May import: ``labelport.errors`` and each other. Nothing else of labelport.
"""
