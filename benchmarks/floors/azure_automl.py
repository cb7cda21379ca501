"""Floor for AZURE_AUTOML_CSV (NER): ``train/train.txt`` with ``token tag``
lines (IOB2), one blank line between sentences, and ``train/MLTable``.

    python azure_automl.py INPUT OUT (INPUT: a CoNLL file or a DATASAUR_SCHEMA folder)
"""

import os

from _common import arguments, print_hashes, tagged_sentences

source, out = arguments()
os.makedirs(os.path.join(out, "train"), exist_ok=True)
with open(os.path.join(out, "train", "train.txt"), "w", encoding="utf-8", newline="\n") as fh:
    first = True
    for _, sentences in tagged_sentences(source):
        for tokens, tags in sentences:
            if not first:
                fh.write("\n")
            fh.write("".join([f"{token} {tag}\n" for token, tag in zip(tokens, tags)]))
            first = False
with open(os.path.join(out, "train", "MLTable"), "w", encoding="utf-8", newline="\n") as fh:
    fh.write("paths:\n  - file: ./train.txt\ntransformations:\n  - take: 1\n")
print_hashes(out)
