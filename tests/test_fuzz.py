"""Property-based fuzzing of every reader (issue 11, item 9).

The shipped fixtures (``examples/``, ``tests/fixtures/``) are mutated and
read in-process with ``labelport.load``, then converted with
``labelport.convert`` into a fresh folder. Whatever the mutation:

- the call either succeeds or raises a :class:`labelport.LabelportError`
  (the CLI's exit 2 with one ``labelport: error:`` line): any other
  exception is a traceback a user would see;
- it ends within ``EXAMPLE_SECONDS`` (a SIGALRM bound per example: a hang or
  a blow-up fails the test instead of stopping the suite);
- after an error, nothing is left: no OUT folder and no hidden sibling.

Mutations: at byte level for every reader (flip a bit, insert bytes that
mean something to a reader or random ones, delete, duplicate a run,
truncate); at JSON-structure level for DATASAUR_SCHEMA, JSON_ADVANCED and the
export-all zip's JSON members (a value at a random path replaced by one of
another JSON type, a key or element dropped, a list element duplicated, a
number made a fraction, negative, a boolean or huge); at member level for
the export-all zip (names given backslashes, ``..``, an absolute path;
members dropped or duplicated, a JSON member's structure mutated) and for
XLSX (a member's own XML bytes mutated, then zipped again).

Run length: each test runs ``LABELPORT_FUZZ_EXAMPLES`` examples (default 40:
all fuzz tests together stay within 60 s on a 2-core machine), derandomized,
so a CI failure is the same failure locally. For a long hunt::

    LABELPORT_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py

Hypothesis's own deadline is off: the machine is shared, so its timing would
be flaky; the SIGALRM bound is the hang check.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import signal
import tempfile
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelport

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).parent / "fixtures"

EXAMPLE_SECONDS = 10
FUZZ = settings(
    max_examples=int(os.environ.get("LABELPORT_FUZZ_EXAMPLES", "40")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Output formats serving every project kind, one drawn per example.
OUTPUT_FORMATS = ["DATASAUR_SCHEMA", "CSV", "JSON"]

# -- the seeds: shipped fixtures, and what labelport makes of them ---------------

class Seed:
    """A file to mutate: its name (the reader is chosen by it, or by ``read``),
    its bytes, and labelport.load's keywords."""

    def __init__(self, name: str, data: bytes, **read: Any):
        self.name, self.data, self.read = name, data, read


def _made(source: Path, fmt: str, pattern: str, **read: Any) -> bytes:
    """A file of ``fmt`` written by labelport from a shipped fixture (the
    repository ships no XLSX or JSON_ADVANCED)."""
    with tempfile.TemporaryDirectory() as folder:
        labelport.convert(labelport.load(source, **read), fmt, Path(folder) / "out")
        (made,) = sorted((Path(folder) / "out").glob(pattern))[:1]
        return made.read_bytes()


@pytest.fixture(scope="module")
def seeds() -> dict[str, Seed]:
    newsroom = FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9"
    return {
        "conll": Seed("sample.conll", (EXAMPLES / "wnut17-sample.conll").read_bytes()),
        "iob": Seed("train.iob", (FIXTURES / "wnut17" / "wnut17train.head.conll").read_bytes()),
        "csv": Seed("tickets.csv", (EXAMPLES / "tickets.csv").read_bytes(), label_columns=["intent"]),
        "tsv": Seed("sms.tsv", (FIXTURES / "tables" / "sms_slice.tsv").read_bytes()[:4000], from_format="TSV",
                    columns=["label", "text"]),
        "xlsx": Seed("tickets.xlsx", _made(EXAMPLES / "tickets.csv", "XLSX", "*.xlsx", label_columns=["intent"]),
                     label_columns=["intent"]),
        "datasaur_schema": Seed("news.txt.json", (newsroom / "REVIEW" / "news.txt.json").read_bytes()),
        "json_advanced": Seed("news.txt.json", _made(newsroom / "REVIEW" / "news.txt.json", "JSON_ADVANCED", "*.json"),
                              from_format="JSON_ADVANCED"),
        "export_zip": Seed("newsroom-export.zip", (EXAMPLES / "newsroom-export.zip").read_bytes()),
    }


# -- the property ----------------------------------------------------------------

class Hang(Exception):
    """An example ran past EXAMPLE_SECONDS."""


@contextmanager
def bounded(seconds: int) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def read_and_convert(name: str, data: bytes, read: dict[str, Any], fmt: str) -> None:
    """The property: success, or a LabelportError with nothing left behind."""
    with tempfile.TemporaryDirectory() as folder:
        inputs, work = Path(folder) / "in", Path(folder) / "work"
        inputs.mkdir()
        work.mkdir()
        source, out = inputs / name, work / "OUT"
        source.write_bytes(data)
        try:
            with bounded(EXAMPLE_SECONDS), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (openpyxl and zipfile warn about what they read)
                labelport.convert(labelport.load(source, **read), fmt, out)
        except labelport.LabelportError as error:
            assert not isinstance(error, labelport.errors.RejectedError), error  # no target: nothing to reject
            left = sorted(p.name for p in work.iterdir())
            assert left == [], f"left behind after {type(error).__name__}: {error}: {left}"
        else:
            assert (out / "labelport-report.json").is_file()
        finally:
            shutil.rmtree(work, ignore_errors=True)


# -- byte-level mutations --------------------------------------------------------

#: Bytes that mean something to one reader or another.
MEANINGFUL = [b"\r", b"\n", b"\r\n", b"\t", b" ", b"\xef\xbb\xbf", b"\x00", b"\xff", b"\xc3", b'"', b",", b"\\",
              b"-DOCSTART- O\n", b"\n\n", b"B-", b"I-", b"{", b"}", b"[", b"]", b":", b"null", b"PK\x03\x04", b"\x1a"]


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    buf = bytearray(data)
    for op in draw(st.lists(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate"]), min_size=1,
                            max_size=4)):
        if not buf:
            break
        i = draw(st.integers(0, len(buf) - 1))
        if op == "flip":
            buf[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            buf[i:i] = draw(st.sampled_from(MEANINGFUL) | st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del buf[i : i + draw(st.integers(1, 64))]
        elif op == "duplicate":
            run = bytes(buf[i : i + draw(st.integers(1, 256))])
            buf[i:i] = run * draw(st.integers(1, 4))
        else:
            del buf[i:]
    return bytes(buf)


@pytest.mark.parametrize("reader", ["conll", "iob", "csv", "tsv", "xlsx",
                                    "datasaur_schema", "json_advanced", "export_zip"])
def test_bytes(seeds, reader):
    original = seeds[reader]

    @FUZZ
    @given(data=mutated_bytes(original.data), fmt=st.sampled_from(OUTPUT_FORMATS))
    def run(data: bytes, fmt: str) -> None:
        read_and_convert(original.name, data, original.read, fmt)

    run()


# -- JSON-structure mutations ----------------------------------------------------

#: Values of every JSON type, and the numbers a reader is least ready for.
ANY_JSON = [None, True, False, 0, -1, 1.5, "", "x", [], [0], {}, {"id": 1}]
ODD_NUMBERS = [1.5, -1, -(2**31), 0.0, True, False, 10**30, 2**63, -1e308, 1e-9]


def _nodes(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """The path of every value below the root."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*path, key)
        yield from _nodes(child, (*path, key))


def _json_type(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    return "number" if isinstance(value, (int, float)) else type(value).__name__


@st.composite
def mutated_json(draw: st.DrawFn, document: Any) -> Any:
    document = copy.deepcopy(document)
    for op in draw(st.lists(st.sampled_from(["retype", "drop", "duplicate", "number"]), min_size=1, max_size=3)):
        paths = list(_nodes(document))
        if not paths:
            break
        *parent_path, key = draw(st.sampled_from(paths))
        parent = document
        for step in parent_path:
            parent = parent[step]
        if op == "retype":
            current = _json_type(parent[key])
            parent[key] = copy.deepcopy(draw(st.sampled_from([v for v in ANY_JSON if _json_type(v) != current])))
        elif op == "drop":
            del parent[key]
        elif op == "duplicate":
            if isinstance(parent, list):
                parent.insert(key, copy.deepcopy(parent[key]))
        else:
            parent[key] = draw(st.sampled_from(ODD_NUMBERS))
    return document


@pytest.mark.parametrize("reader", ["datasaur_schema", "json_advanced"])
def test_json_structure(seeds, reader):
    original = seeds[reader]
    document = json.loads(original.data)

    @FUZZ
    @given(mutated=mutated_json(document), fmt=st.sampled_from(OUTPUT_FORMATS))
    def run(mutated: Any, fmt: str) -> None:
        read_and_convert(original.name, json.dumps(mutated).encode(), original.read, fmt)

    run()


# -- zip members -----------------------------------------------------------------

def _members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # a duplicate name is the point
        for name, content in members:
            zf.writestr(name, content)
    return buffer.getvalue()


@st.composite
def mutated_members(draw: st.DrawFn, members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    members = list(members)
    for op in draw(st.lists(st.sampled_from(["backslashes", "dotdot", "absolute", "drop", "duplicate", "json"]),
                            min_size=1, max_size=3)):
        if not members:
            break
        i = draw(st.integers(0, len(members) - 1))
        name, content = members[i]
        if op == "backslashes":
            members[i] = (name.replace("/", "\\"), content)
        elif op == "dotdot":
            members[i] = (draw(st.sampled_from(["../", "a/../../", "./", "x/.."])) + name, content)
        elif op == "absolute":
            members[i] = (draw(st.sampled_from(["/", "C:/", "C:\\", "//server/"])) + name, content)
        elif op == "drop":
            del members[i]
        elif op == "duplicate":
            other = draw(mutated_bytes(content)) if content else content
            members.insert(draw(st.integers(0, len(members))), (name, other))
        elif name.endswith(".json") and content:
            try:
                value = json.loads(content)
            except ValueError:  # a copy an earlier "duplicate" already made bytes
                continue
            members[i] = (name, json.dumps(draw(mutated_json(value))).encode())
    return members


@st.composite
def mutated_member_bytes(draw: st.DrawFn, members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """One member's own (uncompressed) bytes mutated: XML a workbook's parser
    reads as it is, where a mutation of the compressed file mostly breaks the zip."""
    members = list(members)
    i = draw(st.integers(0, len(members) - 1))
    name, content = members[i]
    members[i] = (name, draw(mutated_bytes(content)) if content else content)
    return members


@pytest.mark.parametrize(
    "reader, mutation",
    [
        # (project-data.json's values: typed decoding)
        pytest.param("export_zip", mutated_members, id="export_zip"),
        pytest.param("xlsx", mutated_member_bytes, id="xlsx"),
    ],
)
def test_members(seeds, reader, mutation):
    original = seeds[reader]
    members = _members(original.data)

    @FUZZ
    @given(mutated=mutation(members), fmt=st.sampled_from(OUTPUT_FORMATS))
    def run(mutated: list[tuple[str, bytes]], fmt: str) -> None:
        read_and_convert(original.name, _zip(mutated), original.read, fmt)

    run()
