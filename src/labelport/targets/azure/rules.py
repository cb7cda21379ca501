"""What Azure Machine Learning AutoML NLP expects of its data, said once for the
writer and the checker (docs/azure-automl.md): split names, file suffixes, the
MLTable file, the CSV columns, the NER tag pattern, the rule ids both report
and the minimums.
"""

from __future__ import annotations

import re

# -- splits -----------------------------------------------------------------------------

TRAIN = "train"
VALIDATION = "validation"
TEST = "test"
#: a word in a file or folder name -> the split AutoML data it holds (as users name them)
SPLIT_WORDS = {
    "train": TRAIN, "training": TRAIN,
    "valid": VALIDATION, "validation": VALIDATION, "val": VALIDATION, "dev": VALIDATION,
    "development": VALIDATION,
    "test": TEST, "testing": TEST,
}

# -- files ------------------------------------------------------------------------------

NER_SUFFIX = ".txt"  # what labelport writes
CSV_SUFFIX = ".csv"
NER_SUFFIXES = {NER_SUFFIX, ".conll", ".iob", ".bio"}  # what the checker reads as NER data
CSV_SUFFIXES = {CSV_SUFFIX, ".tsv"}

MLTABLE = "MLTable"
#: MLTable of a NER split: the text file, as in the azureml-examples NER sample
#: (the NER reader downloads the file; the MLTable only points at it).
NER_MLTABLE = "paths:\n  - file: ./{name}\ntransformations:\n  - take: 1\n"
#: MLTable of a classification split: the azureml-examples sample's
#: read_delimited, plus a header row, quoted line breaks inside cells, and no
#: column type inference (every column is a string in every split).
CSV_MLTABLE = (
    "paths:\n"
    "  - file: ./{name}\n"
    "transformations:\n"
    "  - read_delimited:\n"
    "      delimiter: ','\n"
    "      encoding: 'utf8'\n"
    "      empty_as_string: false\n"
    "      header: all_files_same_headers\n"
    "      support_multi_line: true\n"
    "      infer_column_types: false\n"
)

# -- classification columns -------------------------------------------------------------

TEXT_COLUMN = "text"
LABEL_COLUMN = "label"  # one class per row (multi-class)
LABELS_COLUMN = "labels"  # Python list literals (multi-label)

# -- NER lines --------------------------------------------------------------------------

DOCSTART = "-DOCSTART-"
#: an IOB2 tag of a ``token tag`` line
TAG = re.compile(r"(?:O|[BI]-.+)\Z", re.DOTALL)
TOKEN_WHITESPACE_RULE = "azure.ner.token_whitespace"
TAG_RULE = "azure.ner.tag"

# -- minimums ---------------------------------------------------------------------------

MIN_TRAINING_SAMPLES = 50  # ValidationLiterals.MIN_TRAINING_SAMPLE; NER: InsufficientNERExamples
MIN_VALIDATION_SAMPLES = 1
MIN_LABELS = 2
