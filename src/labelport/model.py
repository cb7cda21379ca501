"""The canonical project model every reader produces and every writer consumes.

A :class:`Project` holds metadata (kinds, label sets, questions, labelers) and
a *factory* of documents, so the documents can be read again (some writers
need a first pass for their label list) and never all sit in memory at once.

A :class:`Document` is one version of one document: the final (REVIEW) one,
with each labeler's own version in :attr:`Document.versions`. Its content is
one of lines of tokens (token labeling), rows of a table (row labeling) or a
text (document labeling). ``lines`` and ``rows`` may be one-shot iterators, so
a CoNLL file that is one long document streams line by line.

Offsets are Python string indices (code points) into a line's text, end
exclusive; each writer converts to its target's unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate, islice
from operator import add
from typing import IO, Any, Callable, Iterable, Iterator, Protocol, Sequence

TOKEN_BASED = "TOKEN_BASED"
ROW_BASED = "ROW_BASED"
DOCUMENT_BASED = "DOCUMENT_BASED"
KINDS = (TOKEN_BASED, ROW_BASED, DOCUMENT_BASED)
KIND_LETTER = {TOKEN_BASED: "T", ROW_BASED: "R", DOCUMENT_BASED: "D"}

#: The version of a project an export takes (``--role``, the Export API's
#: ``role``): the final one, or each labeler's own.
REVIEWER, LABELER = "REVIEWER", "LABELER"
ROLES = (REVIEWER, LABELER)

#: ``labeledBy`` of an entry the labelers disagree on and nobody resolved.
CONFLICT = "CONFLICT"


@dataclass(slots=True)
class Label:
    id: str
    name: str
    parent_id: str | None = None
    color: str | None = None


@dataclass(slots=True)
class LabelSet:
    index: int
    name: str
    labels: list[Label] = field(default_factory=list)
    id: str | None = None

    def label_id(self, name: str) -> str | None:
        for label in self.labels:
            if label.name == name:
                return label.id
        return None


@dataclass(slots=True)
class Question:
    """A question answered per row (row labeling) or per document."""

    id: str
    name: str
    type: str = "DROPDOWN"
    label: str | None = None
    options: list[str] = field(default_factory=list)
    multiple: bool = False
    required: bool = False
    config: dict[str, Any] | None = None  # the source's config, kept verbatim


@dataclass(slots=True)
class Labeler:
    email: str
    id: Any = None
    display_name: str | None = None

    @property
    def folder(self) -> str:
        """The export-all folder name part: ``.`` and ``@`` become ``_``."""
        return self.email.replace(".", "_").replace("@", "_")


@dataclass(slots=True)
class Span:
    """A labeled stretch of text, from ``start`` in line ``line`` to ``end``
    (exclusive) in line ``end_line``; ``token_start``..``token_end`` are the
    first and last (inclusive) tokens it touches."""

    label: str
    line: int
    start: int
    end: int
    token_start: int
    token_end: int
    end_line: int = -1  # -1: same as line
    label_set: int = 0
    id: str | None = None
    label_id: str | None = None
    labeled_by: str | None = None
    labeled_by_user_id: Any = None
    status: str | None = None
    extra: dict[str, Any] | None = None  # source keys labelport does not model

    @property
    def last_line(self) -> int:
        return self.line if self.end_line < 0 else self.end_line


@dataclass(slots=True)
class Arrow:
    """A labeled relation from one span to another (by span id)."""

    label: str
    origin: str
    target: str
    label_set: int = 0
    id: str | None = None
    label_id: str | None = None
    labeled_by: str | None = None
    labeled_by_user_id: Any = None
    status: str | None = None
    extra: dict[str, Any] | None = None


class Line:
    """One labeled unit of text (a sentence, a cell line) and its tokens.

    ``starts`` are the token offsets in ``text``; a reader whose text is the
    tokens joined by single spaces (CoNLL) leaves them out, and they are
    worked out only if a writer asks (most lines of NER data have no span,
    and flat formats never need them).
    """

    __slots__ = ("index", "text", "tokens", "_starts", "spans", "metadata")

    def __init__(
        self,
        index: int,
        text: str,
        tokens: list[str],
        starts: list[int] | None = None,
        spans: list[Span] | None = None,
        metadata: list[Any] | None = None,
    ):
        self.index = index
        self.text = text
        self.tokens = tokens
        self._starts = starts
        self.spans: list[Span] = [] if spans is None else spans  # spans starting on this line
        self.metadata = metadata

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            # start i = the lengths of the tokens before it + i spaces
            tokens = self.tokens
            self._starts = list(map(add, accumulate(map(len, tokens), initial=0), range(len(tokens))))
        return self._starts

    def token_offsets(self, first: int, last: int) -> tuple[int, int]:
        """Where tokens ``first`` and ``last`` start (0 <= first <= last <
        len(tokens)). A line's only span needs just its two ends, worked out
        from the tokens before them; a line of several spans works out every
        start once (each span's own sums would grow with the line's length)."""
        if self._starts is not None or len(self.spans) > 1:
            starts = self.starts
            return starts[first], starts[last]
        tokens = self.tokens
        start = len(" ".join(tokens[:first])) + 1 if first else 0
        return start, (start if last == first else start + len(" ".join(tokens[first:last])) + 1)

    def on_token_boundaries(self, span: Span) -> bool:
        """Whether ``span`` (of this line, ending on it) starts where its first
        token starts and ends where its last token ends."""
        tokens = self.tokens
        last = tokens[span.token_end]
        if self._starts is None and " " not in tokens[span.token_start] and " " not in last:
            # The text is the tokens joined by single spaces and the span
            # touches its first and last token, so it starts inside the first
            # unless a space (or nothing) comes before it; likewise its end.
            text, start, end = self.text, span.start, span.end
            return (start == 0 or text[start - 1] == " ") and (end == len(text) or text[end] == " ")
        first_start, last_start = self.token_offsets(span.token_start, span.token_end)
        return span.start == first_start and span.end == last_start + len(last)

    def __repr__(self) -> str:
        return f"Line({self.index}, {self.text!r}, spans={self.spans!r})"


@dataclass(slots=True)
class AnswerSet:
    """Answers keyed by question id; a value is a string or a list of strings."""

    answers: dict[str, Any]
    labeled_by: str | None = None
    labeled_by_user_id: Any = None
    status: str | None = None
    extra: dict[str, Any] | None = None


@dataclass(slots=True)
class Row:
    """One row of a table. Rows may share one ``answer_sets`` list (the table
    reader gives rows with the same label cells the same one): it is read-only."""

    index: int
    cells: list[str]
    answer_sets: list[AnswerSet] = field(default_factory=list)

    @property
    def answers(self) -> dict[str, Any]:
        """The final answers: the first set nobody disputes."""
        return final_answers(self.answer_sets)


def final_answers(answer_sets: list[AnswerSet]) -> dict[str, Any]:
    for answer_set in answer_sets:
        if answer_set.labeled_by != CONFLICT:
            return answer_set.answers
    return {}


@dataclass
class Document:
    id: str
    name: str
    kinds: tuple[str, ...]
    lines: Iterable[Line] = ()
    columns: list[str] = field(default_factory=list)
    rows: Iterable[Row] = ()
    text: str | None = None
    answer_sets: list[AnswerSet] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)
    comments: list[Any] = field(default_factory=list)
    labeler: Labeler | None = None  # whose version this is; None for the final one
    versions: dict[str, "Document"] = field(default_factory=dict)  # Labeler.folder -> version
    extra: dict[str, Any] = field(default_factory=dict)
    #: what the reader repaired while reading, with counts (for the report)
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def answers(self) -> dict[str, Any]:
        return final_answers(self.answer_sets)

    def unlabeled(self) -> "Document":
        """The same content with no annotations (the export-all ROOT copy)."""
        return Document(
            id=self.id,
            name=self.name,
            kinds=self.kinds,
            lines=(
                Line(line.index, line.text, line.tokens, line._starts, [], line.metadata)
                for line in self.lines
            ),
            columns=self.columns,
            rows=(Row(row.index, row.cells) for row in self.rows),
            text=self.text,
            extra=self.extra,
        )


class SizeHint:
    """The bytes a project is read from, known before reading (the files'
    sizes, a zip's members' declared sizes), and how many have been read.

    Readers never report to it: the files they open are recorded
    (:meth:`opened`) and their positions asked for only when a progress bar
    is redrawn (:meth:`read`), so the readers' loops pay nothing for it.
    """

    __slots__ = ("_measure", "_sizes", "_done", "_finished", "_unsummed", "_current")

    def __init__(self, sizes: Callable[[], dict[str, int]]):
        self._measure = sizes  # (called when first wanted: a run without a bar asks no file its size)
        self._sizes: dict[str, int] | None = None
        self._done = 0  # bytes of the files read before the current one, as far as summed
        self._finished: set[str] = set()
        self._unsummed: list[str] = []  # finished, their sizes not yet added to _done
        self._current: tuple[str, IO[bytes]] | None = None

    @property
    def sizes(self) -> dict[str, int]:
        if self._sizes is None:
            self._sizes = self._measure()
        return self._sizes

    @property
    def total(self) -> int:
        """Bytes in all."""
        return sum(self.sizes.values())

    def opened(self, path: str, fh: IO[bytes]) -> IO[bytes]:
        """Record that ``path`` (a key of the sizes) is being read through
        ``fh``: a file opened before it, and not again, has been read whole."""
        current = self._current
        if current is not None and current[0] != path and current[0] not in self._finished:
            self._finished.add(current[0])
            self._unsummed.append(current[0])
        self._current = (path, fh) if path not in self._finished else None
        return fh

    def read_through(self, n: int) -> None:
        """The first ``n`` files, in the order of the sizes, have been read
        whole (by other processes: --jobs)."""
        for path in islice(self.sizes, n):
            if path not in self._finished:
                self._finished.add(path)
                self._unsummed.append(path)

    def bytes_read_through(self, n: int) -> None:
        """The first ``n`` bytes of the one file have been read (by other
        processes: a long document's ranges under --jobs)."""
        self._done = max(self._done, n)

    def read(self) -> int:
        """Bytes read so far, at most :attr:`total`: the files before the
        current one whole, and the current one up to its position (when its
        stream can tell it: a zip member's cannot, and counts when done)."""
        sizes = self.sizes
        self._done += sum(sizes.get(path, 0) for path in self._unsummed)
        self._unsummed.clear()
        done = self._done
        if self._current is not None:
            path, fh = self._current
            size = sizes.get(path, 0)
            try:
                done += min(fh.tell(), size)
            except ValueError:  # closed: read whole
                done += size
            except OSError:  # a stream that cannot tell its position
                pass
        return done


class ByteRanges(Protocol):
    """A one-file project's one long document in consecutive byte ranges,
    each read on its own as one pass over the file would read it."""

    def ranges(self) -> Sequence[Any]:
        """The ranges, in file order; none when the file is not worth sharing out."""

    def joined(self, lo: int, hi: int) -> Any:
        """Ranges ``lo``..``hi`` as one."""

    def read(self, byte_range: Any) -> Project:
        """The project of the file's one document with only the lines of ``byte_range``."""


@dataclass
class Project:
    id: str
    name: str
    kinds: tuple[str, ...]
    documents_factory: Callable[[], Iterator[Document]] = field(repr=False, default=lambda: iter(()))
    label_sets: list[LabelSet] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)  # row questions
    document_questions: list[Question] = field(default_factory=list)
    labelers: list[Labeler] = field(default_factory=list)
    owner: Labeler | None = None
    tags: list[str] = field(default_factory=list)
    source: str | None = None
    #: the column holding the text to train on (row labeling)
    text_column: str | None = None
    #: id and name come from the data (a Datasaur file), not from a file name
    id_from_data: bool = False
    #: the one-file projects this one is made of, in order (lets --jobs share them out)
    parts: Sequence["Project"] | None = field(default=None, repr=False)
    #: the bytes of its input files, known before reading; None when not known (a server's export)
    size_hint: SizeHint | None = field(default=None, repr=False, compare=False)
    #: a project of one file that is one long document: its byte ranges, which --jobs
    #: shares out when it has no parts (labelport.readers.long_document.LongDocument)
    long_document: ByteRanges | None = field(default=None, repr=False, compare=False)

    def documents(self) -> Iterator[Document]:
        """A fresh iterator over the documents (reads the source again)."""
        return self.documents_factory()
