"""One CoNLL/IOB file that is one long document, shared out by --jobs and
--engine ray in byte ranges (labelport.readers.long_document): the same bytes
as one process, report included, for the per-document formats whose files
join (TSV_IOB, TSV_NON_IOB, CONLL_2003), with and without a split by line.

The files are small; the least range is lowered (long_document.MIN_RANGE) so
that they are cut into many ranges, most of the even shares falling inside a
sentence.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_parallel import files

import labelport
from labelport.conversion import parallel
from labelport.formats.registry import all_formats, get_format
from labelport.readers import long_document

WNUT_SLICE = Path(__file__).parent / "fixtures" / "wnut17" / "wnut17train.head.conll"
SPLIT = {"train": 0.8, "test": 0.2}
#: Per-document formats whose file's pieces join (Format.pieces).
JOINED = ["TSV_IOB", "TSV_NON_IOB", "CONLL_2003"]
#: Project-wide formats whose merge_parts takes a document in pieces (Format.merges_pieces).
MERGED = ["AMAZON_COMPREHEND_CSV", "GCP_VERTEX_AI_CSV", "AZURE_AUTOML_CSV"]
SHARED = JOINED + MERGED
#: The least range here: a 2 KB fixture repeated 40 times is cut into about 20 ranges.
SMALL_RANGE = 4096


@pytest.fixture(autouse=True)
def small_ranges(monkeypatch):
    monkeypatch.setattr(long_document, "MIN_RANGE", SMALL_RANGE)


@pytest.fixture
def merges(monkeypatch) -> list[bool]:
    """What each --jobs write of the test returned: True when its chunks were merged (no one-process rerun)."""
    results: list[bool] = []
    write_parallel = parallel.write_parallel

    def recorded(*args, **kwargs) -> bool:
        results.append(write_parallel(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(parallel, "write_parallel", recorded)
    return results


def wnut() -> bytes:
    data = WNUT_SLICE.read_bytes()
    return data if data.endswith(b"\n") else data + b"\n"


def long_file(tmp_path: Path, data: bytes, name: str = "long.conll") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def one_and_two(path: Path, fmt: str, tmp_path: Path, **kwargs) -> tuple[dict[str, bytes], dict[str, bytes]]:
    labelport.convert(labelport.load(path), fmt, tmp_path / "one", **kwargs)
    labelport.convert(labelport.load(path), fmt, tmp_path / "two", jobs=2, **kwargs)
    return files(tmp_path / "one"), files(tmp_path / "two")


def ranges_of(path: Path) -> list[long_document.ByteRange]:
    project = labelport.load(path)
    assert project.long_document is not None
    return project.long_document.ranges()


def sentence_starts(data: bytes) -> list[tuple[int, int]]:
    """(byte offset, line number before it) of each sentence, as the reader sees them."""
    text = data.decode("utf-8").removeprefix("\ufeff")
    starts, offset, previous_blank = [], len(data) - len(text.encode()), True
    for number, line in enumerate(text.split("\n")):
        blank = not line.strip()
        if previous_blank and not blank:
            starts.append((offset, number))
        previous_blank = blank
        offset += len(line.encode()) + 1
    return starts


@pytest.mark.parametrize("split", [None, SPLIT], ids=["whole", "split"])
@pytest.mark.parametrize("fmt", SHARED)
def test_same_bytes_as_one_process(tmp_path, fmt, split, merges):
    path = long_file(tmp_path, wnut() * 40)
    assert len(ranges_of(path)) > 10
    one, two = one_and_two(path, fmt, tmp_path, split=split)
    assert two == one
    assert merges == [True]
    report = json.loads(one["labelport-report.json"])
    assert report["counts"]["documents"] == 1
    assert report["counts"]["lines"] == 40 * len(sentence_starts(wnut()))
    if split and fmt in JOINED:
        assert {rel.split("/")[0] for rel in one} == {"train", "test", "labelport-report.json"}


def test_each_range_starts_at_a_sentence_with_its_lines_and_sentences_before(tmp_path):
    """Sentences of 40 lines: the even shares fall inside them; each cut moves on to the next sentence."""
    sentence = b"".join(b"tok%d\t%s\n" % (n, b"B-x" if n % 7 == 0 else b"O") for n in range(40))
    data = b"\t\n".join([sentence] * 300)
    path = long_file(tmp_path, data)
    starts = sentence_starts(data)
    index_of = {offset: (n, line) for n, (offset, line) in enumerate(starts)}
    ranges = ranges_of(path)
    assert len(ranges) > 10
    assert [r.start for r in ranges[1:]] == [r.stop for r in ranges[:-1]] and ranges[-1].stop == len(data)
    for r in ranges:
        assert r.start in index_of, r
        assert (r.resume.index, r.resume.line) == index_of[r.start]
    assert sum(r.start % len(sentence + b"\t\n") != 0 for r in ranges) == 0  # (every cut at a sentence's start)
    one, two = one_and_two(path, "TSV_IOB", tmp_path, split=SPLIT)
    assert two == one


@pytest.mark.parametrize("shape", ["no final newline", "CRLF", "byte-order mark and blank lines first",
                                   "runs of blank lines", "blank lines of other white space"])
def test_awkward_but_valid_files(tmp_path, shape, merges):
    data = wnut() * 40
    if shape == "no final newline":
        data = data.rstrip(b"\n")
    elif shape == "CRLF":
        data = data.replace(b"\n", b"\r\n")
    elif shape == "byte-order mark and blank lines first":
        data = b"\xef\xbb\xbf\t\n\n" + data
    elif shape == "runs of blank lines":
        data = data.replace(b"\n\t\n", b"\n\t\n \n\n")
    else:  # blank to the reader, not to bytes' isspace: counted by the slower exact pattern
        data = data.replace(b"\n\t\n", "\n\u00a0\n\u3000\t\n".encode())
    path = long_file(tmp_path, data)
    assert len(ranges_of(path)) > 10
    for fmt in ("TSV_IOB", "CONLL_2003", "AMAZON_COMPREHEND_CSV"):
        one, two = one_and_two(path, fmt, tmp_path / fmt, split=SPLIT)
        assert two == one, fmt
        lines = json.loads(one["labelport-report.json"])["counts"]["lines"]
        assert lines == 40 * len(sentence_starts(wnut()))
    assert merges == [True] * 3


def test_a_file_of_one_sentence_is_one_range(tmp_path):
    data = b"".join(b"tok%d\tO\n" % n for n in range(4000))
    path = long_file(tmp_path, data)
    assert len(data) > 4 * SMALL_RANGE and ranges_of(path) == []
    one, two = one_and_two(path, "TSV_IOB", tmp_path)
    assert two == one


def test_a_file_of_several_documents_is_one_process(tmp_path):
    """-DOCSTART- makes it a file of several documents, read in one pass: the same bytes either way."""
    data = b"".join(b"-DOCSTART- -X- -X- O\n\n" + wnut() * 5 for _ in range(8))
    path = long_file(tmp_path, data)
    assert ranges_of(path) == []
    one, two = one_and_two(path, "CONLL_2003", tmp_path, split=SPLIT)
    assert two == one
    assert json.loads(one["labelport-report.json"])["counts"]["documents"] == 8


def test_a_file_below_two_ranges_is_one_process(tmp_path):
    path = long_file(tmp_path, wnut() * 3)  # ~6 KB
    assert ranges_of(path) == []
    project = labelport.load(path)
    assert not parallel.applicable(get_format("TSV_IOB"), project, 2, get_format("TSV_IOB").options())


def test_formats_that_write_one_document_whole_are_one_process(tmp_path):
    """Only a format that says how its file's pieces join, or whose merge takes a
    document in pieces, is shared out in ranges: not a document's JSON
    (DATASAUR_SCHEMA, JSON_ADVANCED, ...) nor HF_DATASET."""
    path = long_file(tmp_path, wnut() * 40)
    project = labelport.load(path)
    shared = {fmt.id for fmt in all_formats()
              if parallel.applicable(fmt, project, 2, fmt.options())}
    assert shared == set(SHARED)


def test_a_later_range_without_tags_keeps_the_files_scheme(tmp_path):
    """The scheme (IOB here) is the file's first tag's: a range whose first tag is a bare label
    is refused as one process refuses it, at that line."""
    tagged, outside, bare = b"a\tB-x\nb\tO\n", b"c\tO\nd\tO\n", b"c\tO\nd\tx\n"
    data = b"\n".join([tagged] * 1000 + [outside] * 3000 + [bare] + [tagged] * 10)
    path = long_file(tmp_path, data)
    assert len(ranges_of(path)) > 2
    line = data[: data.index(b"d\tx")].count(b"\n") + 1
    with pytest.raises(labelport.errors.InputError) as one:
        labelport.convert(labelport.load(path), "TSV_IOB", tmp_path / "one")
    with pytest.raises(labelport.errors.InputError) as two:
        labelport.convert(labelport.load(path), "TSV_IOB", tmp_path / "two", jobs=2)
    assert str(two.value) == str(one.value)
    assert re.search(rf":{line}\b", str(one.value)), str(one.value)
    assert not (tmp_path / "two").exists()


def test_progress_counts_the_bytes_of_the_ranges_read(tmp_path):
    """--jobs 2 on a terminal: the bar advances by the bytes of the chunks written, to the file's size, one document."""
    from test_progress import _decimal, _frames, run_on_terminal

    path = long_file(tmp_path, wnut() * 1500)  # ~3 MB
    code, screen = run_on_terminal("convert", path, "-f", "TSV_IOB", "-o", tmp_path / "OUT", "--jobs", "2",
                                   env={"LABELPORT_LONG_DOCUMENT_RANGE": str(1 << 16)})
    assert code == 0, screen
    frames = _frames(screen, "convert")
    percents = [int(m.group(1)) for m in (re.search(r"\s(\d+)%", f) for f in frames) if m]
    assert percents and percents[-1] == 100 and any(0 < p < 100 for p in percents), frames
    size = path.stat().st_size
    assert f"{_decimal(size, 'MB')}/{_decimal(size, 'MB')} MB" in frames[-1] and "documents: 1" in frames[-1], frames[-1]


@pytest.mark.parametrize("text", [
    b"a\n\n\n\n\nb\n \t\n\nc\n",  # runs of several blank lines, one of ASCII white space
    "a\n\u00a0\nb\n\u2003\t\u3000\r\nc\n\n".encode(),  # lines blank with wider white space
    "a\n\u00a9\nb\n\n".encode(),  # a line that starts like wide white space and is not blank
    b"x\n\r\n\x1c\nq\n\n",  # a CR, a file separator: white space to str.isspace
    b"a\n" + b"\n" * 100_000 + b"b\n\n",  # one long run
])
def test_sentences_are_counted_as_the_reader_ends_them(text):
    """The fast count (ASCII white space deleted, runs collapsed) agrees with the reader's blank lines."""
    decoded = text.decode()
    blank_runs = re.findall(r"\n(?:[^\S\n]*\n)+", decoded)
    assert long_document._sentences(text) == len(blank_runs)
