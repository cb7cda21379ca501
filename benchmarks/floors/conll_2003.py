"""Floor for CONLL_2003: ``-DOCSTART- -X- -X- O``, then per sentence a blank
line and ``token -X- _ tag`` lines (IOB2); one ``<document>.conll`` per document.

    python conll_2003.py INPUT OUT   (INPUT: a CoNLL file or a DATASAUR_SCHEMA folder)
"""

import os

from _common import arguments, file_name, print_hashes, tagged_sentences

source, out = arguments()
for name, sentences in tagged_sentences(source):
    with open(os.path.join(out, file_name(name, ".conll")), "w", encoding="utf-8", newline="") as fh:
        fh.write("-DOCSTART- -X- -X- O\n")
        for tokens, tags in sentences:
            fh.write("\n" + "".join([f"{token} -X- _ {tag}\n" for token, tag in zip(tokens, tags)]))
print_hashes(out)
