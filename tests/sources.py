"""What the sources hold, read without labelport.

The tests compare what labelport writes with what the datasets hold, so the
datasets are read here independently: WNUT-17 CoNLL (a line empty or only
white space ends a sentence; ``token<TAB>tag``; IOB2 decoded here) and the SMS
Spam Collection (``label<TAB>text`` per line). Beside them: the split rule (README,
"Command line") recomputed, and plain readers of the files labelport writes (JSON lines,
CSV, token-per-line files, the report). Nothing from labelport is imported;
keep it so.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

REPORT = "labelport-report.json"

# -- WNUT-17: CoNLL sentences and their IOB2 entities -------------------------------------


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def text(self) -> str:
        """The sentence text: its tokens joined by single spaces."""
        return " ".join(self.tokens)


@dataclass(frozen=True)
class Entity:
    token_start: int
    token_end: int  # inclusive
    label: str
    start: int  # code points in the sentence text, end exclusive
    end: int
    text: str


def read_conll(path: Path) -> list[Sentence]:
    """A CoNLL file as sentences: UTF-8 with LF line ends; a line empty or
    only white space ends a sentence (WNUT-17 ends some with a lone tab);
    every other line is ``token<TAB>tag``."""
    data = path.read_bytes().decode("utf-8")
    assert "\r" not in data, "these tests expect LF files"
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    for line in data.split("\n"):
        if not line.strip():
            if tokens:
                sentences.append(Sentence(tuple(tokens), tuple(tags)))
                tokens, tags = [], []
            continue
        columns = line.split("\t")
        assert len(columns) == 2, line
        tokens.append(columns[0])
        tags.append(columns[1])
    if tokens:
        sentences.append(Sentence(tuple(tokens), tuple(tags)))
    return sentences


def entities(sentence: Sentence) -> list[Entity]:
    """IOB2 decoded: B-X starts an entity; I-X continues an X, else starts one."""
    starts, position = [], 0
    for token in sentence.tokens:
        starts.append(position)
        position += len(token) + 1
    found: list[list] = []  # [token_start, token_end, label]
    current = None
    for i, tag in enumerate(sentence.tags):
        if tag == "O":
            current = None
            continue
        prefix, label = tag[:2], tag[2:]
        assert prefix in ("B-", "I-") and label, tag
        if prefix == "I-" and current is not None and current[2] == label:
            current[1] = i
            continue
        current = [i, i, label]
        found.append(current)
    text = sentence.text
    out = []
    for first, last, label in found:
        start, end = starts[first], starts[last] + len(sentence.tokens[last])
        out.append(Entity(first, last, label, start, end, text[start:end]))
        assert text[start:end] == " ".join(sentence.tokens[first : last + 1])
    return out


def iob2_tags(sentence: Sentence) -> tuple[str, ...]:
    """The tags an IOB2 writer gives back (an I- that starts an entity becomes B-)."""
    tags = ["O"] * len(sentence.tokens)
    for e in entities(sentence):
        tags[e.token_start] = "B-" + e.label
        for i in range(e.token_start + 1, e.token_end + 1):
            tags[i] = "I-" + e.label
    return tuple(tags)


def astral_tokens(sentences: list[Sentence]) -> int:
    """How many tokens hold a character outside the BMP."""
    return sum(1 for s in sentences for t in s.tokens if any(ord(c) > 0xFFFF for c in t))


# -- the SMS Spam Collection -----------------------------------------------------------------


def sms_pairs(path: Path) -> list[tuple[str, str]]:
    """(label, text) per line: split on "\\n" only and on the first tab, no
    quoting, nothing stripped; the file ends with "\\n"."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    assert lines[-1] == ""
    pairs = []
    for line in lines[:-1]:
        label, tab, text = line.partition("\t")
        assert tab, line
        pairs.append((label, text))
    return pairs


# -- the split rule (README, "Command line"), recomputed --------------------------------------


def split_of(seed: int, document_id: str, index: int | None, shares: list[tuple[str, float]]) -> str:
    """sha256("<seed>:<document id>:<index>") (no index for a whole document),
    its first 8 bytes big-endian as a fraction of 2**64, against the
    cumulative shares in order; the last share takes what is left."""
    key = f"{seed}:{document_id}" if index is None else f"{seed}:{document_id}:{index}"
    point = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    total = 0.0
    for name, share in shares:
        total += share
        if point < total * 2**64:  # int against float: compared exactly
            return name
    return shares[-1][0]


# -- what labelport wrote, read with str, json and csv ----------------------------------------


def report_of(out: Path) -> dict:
    """OUT/labelport-report.json, decoded as UTF-8 strictly."""
    return json.loads((out / REPORT).read_bytes().decode("utf-8"))


def files_under(folder: Path) -> list[str]:
    """Every file below ``folder``, as sorted relative POSIX paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def read_jsonl(path: Path) -> list[dict]:
    """JSON lines: one object a line, a final "\\n", no blank line."""
    data = path.read_bytes().decode("utf-8")
    assert data.endswith("\n") and not data.endswith("\n\n")
    return [json.loads(line) for line in data[:-1].split("\n")]


def read_csv_rows(path: Path) -> list[list[str]]:
    """Every record of a CSV file (header included), read by csv strictly."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, strict=True))


def read_token_lines(path: Path, separator: str, columns: int, header: list[str] | None = None) -> list[Sentence]:
    """A token-per-line output: ``columns`` fields joined by ``separator``,
    exactly one blank line between sentences, a final newline, no other
    blank lines. ``header`` lines (without their blank line) come first."""
    data = path.read_bytes().decode("utf-8")
    assert data.endswith("\n"), f"{path.name} does not end with a newline"
    assert not data.endswith("\n\n"), f"{path.name} ends with a blank line"
    lines = data[:-1].split("\n")
    if header:
        assert lines[: len(header)] == header, lines[: len(header) + 1]
        assert lines[len(header)] == "", "a blank line must follow the header"
        lines = lines[len(header) + 1 :]
    assert lines and lines[0] != "", "blank first line"
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(lines, 1):
        if line == "":
            assert tokens, f"{path.name}: two blank lines in a row near line {number}"
            sentences.append(Sentence(tuple(tokens), tuple(tags)))
            tokens, tags = [], []
            continue
        fields = line.split(separator)
        assert len(fields) == columns, f"{path.name} line {number}: {line!r}"
        tokens.append(fields[0])
        tags.append(fields[-1])
        if columns == 4:
            assert fields[1:3] == ["-X-", "_"], f"{path.name} line {number}: {line!r}"
    assert tokens
    sentences.append(Sentence(tuple(tokens), tuple(tags)))
    return sentences


# -- a Datasaur export's row answers -------------------------------------------------------


def answered_rows(export: Path, question: str) -> int:
    """Rows of an export-all folder's REVIEW document whose final (not
    CONFLICT) answers answer ``question`` (named as the project names it)."""
    (path,) = (export / "REVIEW").glob("*.json")
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    (question_id,) = [str(q["id"]) for q in data["questions"] if q["name"] == question]
    final = [s for s in data["rowAnswers"] if s["labeledBy"] != "CONFLICT"]
    return sum(s["answers"].get(question_id) not in (None, "", []) for s in final)
