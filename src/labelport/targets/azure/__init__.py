"""Azure AutoML (AZURE_AUTOML_CSV): strict CoNLL or CSV training files with their MLTable.

- :mod:`.rules`: what AutoML expects, once: split names, file suffixes, the MLTable, columns, the tag pattern,
  the rule ids writer and checker share, the minimums.
- :mod:`.writer`: writes each split's data file and MLTable.
- :mod:`.checker`: checks AutoML NLP data on disk, labelport's or another tool's.
"""
