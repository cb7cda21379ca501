"""Amazon Comprehend (AMAZON_COMPREHEND_CSV), one module a job:

* :mod:`.rules`: the service's rules, stated once: file names, the annotations
  header, limits, the LabelDelimiter characters;
* :mod:`.writer`: the format (entity recognizer: documents and annotations CSV;
  classifier CSV; their JSON configs);
* :mod:`.checker`: the target's checks on any folder of Comprehend files
  (``labelport validate --target comprehend``);
* :mod:`.pairing`: a server-made export laid out as the writer lays it out, its
  per-document annotation CSVs paired with their PLAIN text (the Export API client's
  ``labelport export datasaur://ID -f AMAZON_COMPREHEND_CSV``).
"""
