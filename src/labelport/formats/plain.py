"""PLAIN: the document text, one source line per line: exactly the text that
offset-based formats (JSON, CSV span tables, Comprehend) point into."""

from __future__ import annotations

from ..model import TOKEN_BASED, Line
from .base import TEXT_ONLY, DocumentWriter, Format, span_example

LINE_BREAKS = "line breaks inside a line (written as spaces)"


class PlainWriter(DocumentWriter):
    def line(self, line: Line) -> None:
        if line.spans:  # the text only, by design: every span is listed
            self.report.drop(TEXT_ONLY, span_example(self.document.name, line, line.spans[0]), len(line.spans),
                             unit="spans", labels=[span.label for span in line.spans])
        text = line.text
        if "\n" in text or "\r" in text:
            # A break would split the line in two; a space keeps every offset.
            self.report.drop(LINE_BREAKS, {"document": self.document.name, "line": line.index})
            text = text.replace("\r", " ").replace("\n", " ")
        self.fh.write(text + "\n")


FORMAT = Format(
    id="PLAIN",
    kinds=frozenset({TOKEN_BASED}),
    extension=".txt",
    writer=PlainWriter,
)
