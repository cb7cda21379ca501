"""What Vertex AI's text dataset import expects, said once for the writer and
the checker (docs/vertex-ai.md): the file names labelport writes, the import
schema URIs and the kind of dataset each declares, the ml_use names and the
dataset limits. The JSON field names (``textContent``, ``displayName``...)
are the import schemas' own and stay where they are read and written.
"""

from __future__ import annotations

# -- files ------------------------------------------------------------------------------

DATASET_JSONL = "vertex_dataset.jsonl"  # entity extraction lines
IMPORT_JSONL = "vertex_import.jsonl"  # classification lines
IMPORT_CSV = "vertex_import.csv"
#: the ImportDataConfig (``importSchemaUri``, ``gcsSource.uris``)
MANIFEST = "vertex_dataset.json"
#: the suffixes of the files an import reads (a CSV is rows or a list of files)
IMPORT_SUFFIXES = (".jsonl", ".csv")

# -- import schemas ---------------------------------------------------------------------

_IOFORMAT = "gs://google-cloud-aiplatform/schema/dataset/ioformat/"
SINGLE_LABEL_SCHEMA = _IOFORMAT + "text_classification_single_label_io_format_1.0.0.yaml"
MULTI_LABEL_SCHEMA = _IOFORMAT + "text_classification_multi_label_io_format_1.0.0.yaml"
EXTRACTION_SCHEMA = _IOFORMAT + "text_extraction_io_format_1.0.0.yaml"

EXTRACTION = "extraction"
CLASSIFICATION = "classification"
SINGLE = "single-label classification"
MULTI = "multi-label classification"
#: import schema URI -> the kind of dataset it declares
SCHEMAS = {SINGLE_LABEL_SCHEMA: SINGLE, MULTI_LABEL_SCHEMA: MULTI, EXTRACTION_SCHEMA: EXTRACTION}

# -- ml_use -----------------------------------------------------------------------------

#: the resource label an import line carries its ml_use in
ML_USE_KEY = "aiplatform.googleapis.com/ml_use"
#: labelport split name -> Vertex AI ml_use
ML_USE = {"train": "training", "validation": "validation", "test": "test"}
ML_USES = tuple(ML_USE.values())

# -- limits -----------------------------------------------------------------------------

EXTRACTION_MIN_DOCUMENTS = 50
EXTRACTION_MAX_DOCUMENTS = 100_000
EXTRACTION_MAX_LABELS = 100
EXTRACTION_LABEL_CHARS = (2, 30)
ENTITY_MAX_WORDS = 10
CLASSIFICATION_MIN_DOCUMENTS = 20
CLASSIFICATION_MAX_DOCUMENTS = 1_000_000
CLASSIFICATION_MIN_LABELS = 2
CLASSIFICATION_MAX_LABELS = 5_000
CLASSIFICATION_MIN_PER_LABEL = 10
