"""Floor for XLSX from a header-less TSV table read with ``--columns
label,text``: openpyxl's write-only mode writing the same cells, one sheet
named after the file (``sms.tsv`` -> ``sms``), header ``text``, ``label``; a
cell starting with ``=``, ``+``, ``-`` or ``@`` stays text, as labelport
writes it.

    python xlsx_table.py INPUT.tsv OUT
"""

import os

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from _common import arguments, print_hashes

source, out = arguments()
name = os.path.basename(source)
workbook = Workbook(write_only=True)
sheet = workbook.create_sheet(title=name.rsplit(".", 1)[0])


def text_cell(value):
    if not value.startswith(("=", "+", "-", "@")):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


sheet.append(["text", "label"])
with open(source, encoding="utf-8", newline="\n") as fh:
    for line in fh:
        line = line.removesuffix("\n").removesuffix("\r")
        if line:
            label, text = line.split("\t")
            sheet.append([text_cell(text), text_cell(label)])
workbook.save(os.path.join(out, name + ".xlsx"))
print_hashes(out)
