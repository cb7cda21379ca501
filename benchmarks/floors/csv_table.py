"""Floor for CSV from a header-less TSV table read with ``--columns
label,text``: ``<file>.csv`` with the header ``text,label``, RFC 4180 as
Python's csv module writes it, ``\\n`` line ends.

    python csv_table.py INPUT.tsv OUT
"""

import csv
import os

from _common import arguments, print_hashes

source, out = arguments()
with open(source, encoding="utf-8", newline="\n") as fh, \
        open(os.path.join(out, os.path.basename(source) + ".csv"), "w", encoding="utf-8", newline="") as table:
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["text", "label"])
    for line in fh:
        line = line.removesuffix("\n").removesuffix("\r")
        if line:
            label, text = line.split("\t")
            writer.writerow([text, label])
print_hashes(out)
