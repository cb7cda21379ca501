"""Floor for TSV_IOB: ``token<TAB>tag`` lines, IOB2, a blank line between
sentences, one ``<document>.tsv`` per document.

    python tsv_iob.py INPUT OUT      (INPUT: a CoNLL file or a DATASAUR_SCHEMA folder)
"""

import os

from _common import arguments, file_name, print_hashes, tagged_sentences

source, out = arguments()
for name, sentences in tagged_sentences(source):
    with open(os.path.join(out, file_name(name, ".tsv")), "w", encoding="utf-8", newline="") as fh:
        first = True
        for tokens, tags in sentences:
            body = "\n".join(map("\t".join, zip(tokens, tags))) + "\n"
            fh.write(body if first else "\n" + body)
            first = False
print_hashes(out)
