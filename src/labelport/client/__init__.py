"""The Export API client: labelport fetching from any server that speaks
Datasaur's Export API (``datasaur://`` inputs).

``export_api`` is the GraphQL client (retries, deadlines, redacted errors);
``fetch`` asks the server for an export, downloads it through the archive
guard and lays out the server-made files (a target's own pairing, such as
Comprehend's, lives with that target).

May import: the guards, the readers, ``labelport.report``, the targets.
"""
