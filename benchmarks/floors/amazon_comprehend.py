"""Floor for AMAZON_COMPREHEND_CSV (entity recognizer): one line of text per
line in ``train/documents/documents.txt``, its entities in
``train/annotations/annotations.csv`` (File,Line,Begin Offset,End Offset,Type;
code points), and ``entity_recognizer.json``.

    python amazon_comprehend.py INPUT OUT   (INPUT: a CoNLL file or a DATASAUR_SCHEMA folder)
"""

import os
import re

import orjson

from _common import arguments, print_hashes, token_lines

source, out = arguments()
for folder in ("documents", "annotations"):
    os.makedirs(os.path.join(out, "train", folder), exist_ok=True)
types = {}  # label -> entity type, AWS's ^[A-Z0-9_]+$ form: creative-work -> CREATIVE_WORK
number = 0
with open(os.path.join(out, "train", "documents", "documents.txt"), "w", encoding="utf-8", newline="") as documents, \
        open(os.path.join(out, "train", "annotations", "annotations.csv"), "w", encoding="utf-8", newline="") as annotations:
    annotations.write("File,Line,Begin Offset,End Offset,Type\n")
    for _, _, lines in token_lines(source):
        for _, text, _, spans in lines:
            documents.write(text + "\n")
            for start, end, label, _, _ in spans:
                kind = types.get(label)
                if kind is None:
                    kind = types[label] = re.sub("[^A-Z0-9_]+", "_", label.upper()).strip("_")
                annotations.write(f"documents.txt,{number},{start},{end},{kind}\n")
            number += 1
config = {
    "DataFormat": "COMPREHEND_CSV",
    "EntityTypes": [{"Type": kind} for kind in sorted(set(types.values()))],
    "Documents": {"S3Uri": "train/documents/", "InputFormat": "ONE_DOC_PER_LINE"},
    "Annotations": {"S3Uri": "train/annotations/annotations.csv"},
}
with open(os.path.join(out, "entity_recognizer.json"), "wb") as fh:
    fh.write(orjson.dumps(config, option=orjson.OPT_INDENT_2) + b"\n")
print_hashes(out)
