"""Amazon Comprehend's rules, stated once (docs/amazon-comprehend.md): the
file names of labelport's layout, the annotations header, the service's
limits and the LabelDelimiter characters it accepts.

The writer, the checker and the pairing of a server-made export
(:mod:`.writer`, :mod:`.checker`, :mod:`.pairing`) read them from here, so a
rule changes in this one file.
"""

from __future__ import annotations

# -- file names of labelport's layout (the writer's module docstring draws it) --------

DOCUMENTS = "documents.txt"
ANNOTATIONS = "annotations.csv"
CLASSIFIER = "classifier.csv"
RECOGNIZER_JSON = "entity_recognizer.json"
CLASSIFIER_JSON = "document_classifier.json"

#: The annotations CSV's header (ONE_DOC_PER_LINE), without its line end.
HEADER = "File,Line,Begin Offset,End Offset,Type"
#: The header of a ONE_DOC_PER_FILE annotations CSV (no Line column).
HEADER_PER_FILE = "File,Begin Offset,End Offset,Type"
DATA_FORMAT = "COMPREHEND_CSV"
ONE_DOC_PER_LINE, ONE_DOC_PER_FILE = "ONE_DOC_PER_LINE", "ONE_DOC_PER_FILE"

# -- entity recognizer --------------------------------------------------------------------

MAX_DOCUMENT_BYTES = 5000  # a document is 1 to 5,000 UTF-8 bytes
MAX_TYPE_LENGTH = 64
MAX_TYPES = 25
MIN_DOCUMENTS = 3
MAX_DOCUMENTS = 200_000
MIN_PER_TYPE = 25
MIN_CORPUS_BYTES = 5 * 1024
MAX_CORPUS_BYTES = 200 * 1024 * 1024

# -- document classifier ------------------------------------------------------------------

MAX_LABEL_LENGTH = 5000
MULTI_CLASS, MULTI_LABEL = "MULTI_CLASS", "MULTI_LABEL"
MIN_PER_CLASS = {MULTI_CLASS: 50, MULTI_LABEL: 10}
MAX_CLASSES = {MULTI_CLASS: 1000, MULTI_LABEL: 100}
MIN_MULTI_LABEL_DOCUMENTS = 50
#: LabelDelimiter must be one of these, in the API reference's order
#: (API_DocumentClassifierInputDataConfig); the checker names them in it.
DELIMITERS = " ~!@#$%^*-_+=|\\:;\t>?/"
#: The LabelDelimiter when a config gives none (and of a classifier CSV without a config).
DEFAULT_DELIMITER = "|"
