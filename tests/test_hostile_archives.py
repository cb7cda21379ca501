"""Hostile zips and workbooks: refused whole, before anything is written.

Every zip labelport opens goes through labelport.guards.archives (its docstring
lists the limits). Each refused case here goes through ``labelport
convert`` (and the validators and the Export API client where they open
zips) and must end as exit 2 with one ``labelport: error:`` line naming the
archive (and the entry, when one is to blame), with nothing left behind.
Zips are made with zipfile, and byte by byte where zipfile will not make the
hostile shape. Awkward but valid archives (Windows separators, a lying XLSX
dimension, a limit raised by its variable) must read exactly like their
plain twins.
"""

from __future__ import annotations

import io
import json
import os
import resource
import stat
import struct
import subprocess
import sys
import time
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Callable

import httpx
import pytest

from conftest import FIXTURES, run_cli
from hostile import assert_refused
from test_client import StandIn, use
from test_serve import service  # noqa: F401  (the fixture: a real labelport serve on 127.0.0.1)

NEWSROOM = FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9"
CONLL = b"John\tB-person\nlives\tO\nin\tO\nParis\tB-location\n\n"
MIB = 1 << 20


# -- making zips ------------------------------------------------------------------------------------


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]],
             method: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate names some cases are made of
        with zipfile.ZipFile(path, "w", method) as archive:
            for name, content in entries:
                archive.writestr(name, content)
    return path


def entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.create_system = 3  # unix, whose mode bits say what the entry is
    return info


def raw_zip(entries: list[dict]) -> bytes:
    """A zip written byte by byte. Each entry: ``name``, ``data`` (as stored),
    and optionally ``method``, ``crc``, ``size`` (declared uncompressed),
    ``compressed`` (declared), ``flags``, ``mode``."""
    out = bytearray()
    central = bytearray()
    for e in entries:
        name = e["name"].encode()
        data = e["data"]
        fields = (e.get("flags", 0), e.get("method", 8), 0, 0x21, e.get("crc", 0),
                  e.get("compressed", len(data)), e["size"], len(name))
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, *fields, 0) + name + data
        central += struct.pack("<IHH" "HHHHIIIHH" "HHHII", 0x02014B50, (3 << 8) | 20, 20, *fields, 0, 0, 0, 0,
                               e.get("mode", 0o100644) << 16, offset) + name
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), start, 0)
    return bytes(out)


def deflated_zeros(mib: int) -> bytes:
    """``mib`` MiB of zero bytes as one raw deflate stream, made without
    deflating them all: after a full flush every MiB deflates to the same bytes."""
    block = bytes(MIB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    assert deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH) == again
    return first + again * (mib - 1) + deflate.flush()


def zeros_zip(name: str, mib: int, declared: int) -> bytes:
    return raw_zip([{"name": name, "data": deflated_zeros(mib), "size": declared}])


def conll_zip(path: Path) -> Path:
    return make_zip(path, [("a.conll", CONLL)])


def _workbook(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


TABLE = [["text", "label"], ["hello there", "greeting"], ["see you", "farewell"]]
SHARED = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2">'
          "<si><t>text</t></si><si><t>hello</t></si></sst>")
SHARED_TYPE = ('<Override PartName="/xl/sharedStrings.xml" ContentType='
               '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
SHEET = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         '<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>')


def workbook(sheet_xml: str | None = None, shared: str | None = None, pad: bytes = b"") -> bytes:
    """A real openpyxl workbook with its first sheet's XML (and shared
    strings) replaced; ``pad`` is appended to the sheet XML."""
    base = zipfile.ZipFile(io.BytesIO(_workbook(TABLE)))
    parts = {i.filename: base.read(i.filename) for i in base.infolist()}
    if sheet_xml is not None:
        parts["xl/worksheets/sheet1.xml"] = sheet_xml.encode() + pad
    if shared is not None:
        parts["xl/sharedStrings.xml"] = shared.encode()
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].decode().replace("</Types>", SHARED_TYPE).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def shared_sheet(index: str) -> str:
    row = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>{}</v></c></row>'
    return SHEET.format(dimension="A1:A2", rows=row.format(index))


def rows_numbered(last: int) -> str:
    rows = ('<row r="1"><c r="A1" t="inlineStr"><is><t>text</t></is></c></row>'
            f'<row r="{last}"><c r="A{last}" t="inlineStr"><is><t>hello</t></is></c></row>')
    return SHEET.format(dimension=f"A1:A{last}", rows=rows)


# -- the cases: (id, builder writing the input under the inputs folder, env, words in the message) ---------

Builder = Callable[[Path], Path]


def write(name: str, data: bytes) -> Builder:
    def build(inputs: Path) -> Path:
        (inputs / name).write_bytes(data)
        return inputs / name
    return build


def zipped(entries: list[tuple[str | zipfile.ZipInfo, bytes]], name: str = "in.zip", **kw: int) -> Builder:
    return lambda inputs: make_zip(inputs / name, entries, **kw)


def truncated(inputs: Path) -> Path:
    good = conll_zip(inputs / "good.zip").read_bytes()
    (inputs / "good.zip").unlink()
    (inputs / "in.zip").write_bytes(good[: len(good) // 2])
    return inputs / "in.zip"


def bad_crc() -> bytes:
    data = zlib.compress(CONLL)[2:-4]
    return raw_zip([{"name": "a.conll", "data": data, "size": len(CONLL), "crc": zlib.crc32(CONLL) ^ 1}])


def in_zip(name: str, data: bytes) -> Builder:
    return zipped([(name, data)])


DEEP = "/".join(["d"] * 40) + "/a.conll"
LONG = "/".join(["n" * 200] * 6) + ".conll"
NEWS = (NEWSROOM / "REVIEW" / "news.txt.json").read_bytes()

CASES: list[tuple[str, Builder, dict[str, str], list[str]]] = [
    ("bomb-one-entry-by-ratio", lambda d: make_zip(d / "in.zip", [("a.conll", bytes(64 * MIB))]), {},
     ["in.zip:a.conll", "LABELPORT_MAX_ZIP_RATIO"]),
    ("bomb-by-overall-ratio", lambda d: make_zip(d / "in.zip", [(f"f{i}.conll", bytes(MIB)) for i in range(40)]),
     {}, ["in.zip: unpacks", "LABELPORT_MAX_ZIP_RATIO"]),
    ("bomb-gigabytes-declared", write("in.zip", zeros_zip("a.conll", 3000, 3000 * MIB)), {},
     ["in.zip:a.conll", "LABELPORT_MAX_ZIP_RATIO"]),
    ("bomb-gigabytes-declared-small", write("in.zip", zeros_zip("a.conll", 3000, MIB)), {},
     ["in.zip:a.conll", "corrupt", "CRC"]),
    ("bomb-size-declared-huge-data-tiny", write("in.zip", raw_zip([
        {"name": "a.conll", "data": zlib.compress(CONLL)[2:-4], "size": 4_000_000_000, "crc": zlib.crc32(CONLL)}])),
     {}, ["in.zip", "bytes"]),
    ("total-bytes-over-the-limit", in_zip("a.conll", CONLL * 40), {"LABELPORT_MAX_UNZIP_BYTES": "1000"},
     ["in.zip: unpacks to", "LABELPORT_MAX_UNZIP_BYTES"]),
    ("entry-count", zipped([(f"f{i}.conll", CONLL) for i in range(11)]), {"LABELPORT_MAX_ZIP_ENTRIES": "10"},
     ["holds 11 entries", "LABELPORT_MAX_ZIP_ENTRIES"]),
    ("name-length", in_zip(LONG, CONLL), {}, ["1,211 characters", "LABELPORT_MAX_ZIP_NAME_LENGTH"]),
    ("path-depth", in_zip(DEEP, CONLL), {}, ["40 folders deep", "LABELPORT_MAX_ZIP_DEPTH"]),
    ("absolute-name", zipped([("a.conll", CONLL), ("/etc/evil.conll", CONLL)]), {}, ["in.zip:/etc/evil.conll", "escapes"]),
    ("dotdot-name", zipped([("a.conll", CONLL), ("../evil.conll", CONLL)]), {}, ["in.zip:../evil.conll", "escapes"]),
    ("dotdot-inside-name", in_zip("p/../../evil.conll", CONLL), {}, ["escapes"]),
    ("dotdot-backslash-name", in_zip("..\\evil.conll", CONLL), {}, ["escapes"]),
    ("drive-letter-name", in_zip("C:/evil.conll", CONLL), {}, ["in.zip:C:/evil.conll", "drive letter"]),
    ("drive-letter-backslash-name", in_zip("C:\\evil.conll", CONLL), {}, ["escapes"]),
    ("control-character-name", in_zip("a\n.conll", CONLL), {}, ["in.zip:'a\\n.conll'", "control characters"]),
    ("symlink", zipped([("a.conll", CONLL), (entry("b.conll", stat.S_IFLNK | 0o777), b"/etc/passwd")]), {},
     ["in.zip:b.conll", "symbolic link"]),
    ("character-device", zipped([(entry("a.conll", stat.S_IFCHR | 0o644), CONLL)]), {}, ["in.zip:a.conll", "device"]),
    ("fifo", zipped([(entry("a.conll", stat.S_IFIFO | 0o644), CONLL)]), {}, ["in.zip:a.conll", "special file"]),
    ("encrypted", write("in.zip", raw_zip([{"name": "a.conll", "data": CONLL, "method": 0, "flags": 1,
                                            "size": len(CONLL), "crc": zlib.crc32(CONLL)}])), {},
     ["in.zip:a.conll", "encrypted"]),
    ("unknown-compression", write("in.zip", raw_zip([{"name": "a.conll", "data": CONLL, "method": 99,
                                                      "size": len(CONLL)}])), {}, ["compression method 99"]),
    ("duplicate-name", zipped([("a.conll", CONLL), ("a.conll", b"Mary\tB-person\n\n")]), {},
     ["in.zip:a.conll", "twice"]),
    ("duplicate-after-backslash", zipped([("p/REVIEW/a.conll", CONLL), ("p\\REVIEW\\a.conll", CONLL)]), {},
     ["twice", "'p/REVIEW/a.conll' and 'p\\\\REVIEW\\\\a.conll'"]),
    ("duplicate-after-dot-slash", zipped([("./a.conll", CONLL), ("a.conll", CONLL)]), {}, ["twice"]),
    ("no-name", zipped([("a.conll", CONLL), ("./.", CONLL)]), {}, ["in.zip:./.", "no name"]),
    ("file-and-folder", zipped([("a", CONLL), ("a/b.conll", CONLL)]), {}, ["in.zip:a", "both a file and a folder"]),
    ("truncated", truncated, {}, ["in.zip", "not a zip archive, or a truncated"]),
    ("truncated-entry-data", write("in.zip", raw_zip([{"name": "a.conll", "data": CONLL, "method": 0,
                                                       "compressed": 10_000, "size": len(CONLL)}])), {},
     ["in.zip:a.conll", "truncated"]),
    ("corrupt-crc", write("in.zip", bad_crc()), {}, ["in.zip:a.conll", "CRC"]),
    ("corrupt-deflate-stream", write("in.zip", raw_zip([{"name": "a.conll", "data": b"\xff" * 40,
                                                         "size": len(CONLL)}])), {}, ["in.zip:a.conll", "corrupt"]),
    ("not-a-zip-named-zip", write("in.zip", CONLL), {}, ["in.zip", "not a zip archive"]),
    ("not-a-zip-named-xlsx", write("in.xlsx", b"text,label\nhi,greeting\n"), {}, ["in.xlsx", "not a zip archive"]),
    ("not-a-zip-xlsx-inside-a-zip", in_zip("t/in.xlsx", b"text,label\n"), {}, ["in.zip:t/in.xlsx", "not a zip"]),
    ("two-projects", zipped([("a-1/REVIEW/news.txt.json", NEWS), ("b-2/REVIEW/news.txt.json", NEWS)]), {},
     ["in.zip", "more than one export-all project", "'a-1'", "'b-2'"]),
    ("a-project-and-a-top-level-one", zipped([("REVIEW/news.txt.json", NEWS), ("b-2/REVIEW/news.txt.json", NEWS)]),
     {}, ["more than one export-all project", "'b-2'"]),
    ("two-root-folders", zipped([("p-1/REVIEW/news.txt.json", NEWS), ("p-1/ROOT-a/news.txt.json", NEWS),
                                 ("p-1/ROOT-b/news.txt.json", NEWS)]), {},
     ["in.zip", "more than one ROOT folder", "ROOT-a, ROOT-b"]),
    ("xlsx-broken-sheet-xml", write("in.xlsx", workbook(SHEET.format(dimension="A1", rows="<row r='1'><c"))), {},
     ["in.xlsx", "sheet cannot be read"]),
    ("xlsx-broken-sheet-xml-in-a-zip", in_zip("t/in.xlsx", workbook(SHEET.format(dimension="A1", rows="<row"))),
     {}, ["in.zip:t/in.xlsx", "sheet cannot be read"]),
    ("xlsx-shared-string-past-the-end", write("in.xlsx", workbook(shared_sheet("5"), SHARED)), {},
     ["in.xlsx", "sheet cannot be read", "IndexError"]),
    ("xlsx-shared-string-negative", write("in.xlsx", workbook(shared_sheet("-1"), SHARED)), {},
     ["in.xlsx", "negative"]),
    ("xlsx-shared-string-not-a-number", write("in.xlsx", workbook(shared_sheet("x"), SHARED)), {},
     ["in.xlsx", "sheet cannot be read"]),
    ("xlsx-a-billion-rows", write("in.xlsx", workbook(rows_numbered(1_000_000_000))), {},
     ["in.xlsx", "past Excel's last, 1,048,576"]),
    ("xlsx-bomb-in-the-sheet", write("in.xlsx", workbook(rows_numbered(2), pad=b" " * (64 * MIB))), {},
     ["in.xlsx:xl/worksheets/sheet1.xml", "LABELPORT_MAX_ZIP_RATIO"]),
    ("xlsx-billion-laughs", write("in.xlsx", workbook(
        '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&j;</t></is></c></row></sheetData></worksheet>')), {},
     ["in.xlsx", "amplification"]),
]


def run_limited(*args: object, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``python -m labelport ARGS`` with its address space capped at 1 GiB
    and a minute to finish: a bomb read into memory, or read for long, fails."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    proc = subprocess.run([sys.executable, "-m", "labelport", *map(str, args)], env={**os.environ, **(env or {})},
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60, preexec_fn=cap)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


@pytest.mark.parametrize(("case", "build", "env", "words"), CASES, ids=[c[0] for c in CASES])
def test_convert_refuses(places, case, build, env, words):
    inputs, work, out = places
    source = build(inputs)
    started = time.monotonic()
    message = assert_refused(*run_limited("convert", source, "-f", "CSV", "-o", out, env=env), work, out)
    assert time.monotonic() - started < 30, "refusing took too long"
    for word in words:
        assert word in message, message
    assert sorted(p.name for p in inputs.iterdir()) == [source.name], "something was unpacked next to the input"


#: Refused when the archive is opened, or as an entry is read: every validator unpacks a zip whole
#: (labelport.validate.walk).
VALIDATE_CASES = ["bomb-one-entry-by-ratio", "dotdot-name", "symlink", "encrypted", "duplicate-after-backslash",
                  "truncated", "not-a-zip-named-zip", "bomb-gigabytes-declared-small", "corrupt-crc"]


@pytest.mark.parametrize(("case", "target"), [(c, t) for c in VALIDATE_CASES
                                              for t in ("azure", "comprehend", "hf", "vertex")])
def test_validate_refuses(places, case, target):
    """The validators look into the zips of the folder they check: through the same layer."""
    inputs, work, out = places
    _, build, env, words = next(c for c in CASES if c[0] == case)
    source = build(inputs)
    message = assert_refused(*run_limited("validate", inputs, "--target", target, env=env), work, out)
    assert str(source) in message, message
    for word in words[1:]:
        assert word in message, message
    assert sorted(p.name for p in inputs.iterdir()) == [source.name]


# -- the Export API client ------------------------------------------------------------------------------

FETCH_CASES = ["bomb-one-entry-by-ratio", "bomb-gigabytes-declared-small", "symlink", "duplicate-after-backslash",
               "corrupt-crc", "not-a-zip-named-zip", "two-projects"]


@pytest.mark.parametrize("case", FETCH_CASES)
def test_a_fetched_export_is_refused(places, monkeypatch, tmp_path, case):
    """A zip an Export API server sends goes through the same layer as a local one."""
    inputs, work, out = places
    _, build, env, words = next(c for c in CASES if c[0] == case)
    served = build(inputs).read_bytes()
    server = StandIn()
    try:
        use(monkeypatch, tmp_path, server.base)
        server.exports[("evil", "DATASAUR_SCHEMA")] = served
        message = assert_refused(*run_limited("convert", "datasaur://evil", "-f", "CSV", "-o", out, env=env), work, out)
    finally:
        server.stop()
    assert "evil" in message, message  # the export, as fetched
    for word in words[1:]:
        assert word in message, message
    fetched = tmp_path / "home" / "fetched"
    assert not fetched.exists() or not list(fetched.iterdir()), "the fetched export was left behind"


# -- awkward but valid ---------------------------------------------------------------------------------------


def _tree(folder: Path, source: Path) -> dict[str, bytes]:
    """The files under ``folder``; the report's path of the input made ``SOURCE``."""
    return {p.relative_to(folder).as_posix(): p.read_bytes().replace(str(source).encode(), b"SOURCE")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _export_all_zip(path: Path, separator: str, system: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(NEWSROOM.rglob("*")):
            if file.is_file():
                info = zipfile.ZipInfo(f"{NEWSROOM.name}/{file.relative_to(NEWSROOM).as_posix()}".replace("/", separator))
                info.create_system = system
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, file.read_bytes())
    return path


@pytest.mark.parametrize("fmt", ["DATASAUR_SCHEMA", "CSV"])
def test_a_windows_zip_reads_like_the_posix_one(tmp_path, fmt):
    """``REVIEW\\news.txt.json`` is ``REVIEW/news.txt.json``: the REVIEW,
    DOCUMENT- and ROOT- versions of one document stay one document."""
    outputs = {}
    for kind, separator, system in (("posix", "/", 3), ("windows", "\\", 0)):
        folder = tmp_path / kind
        folder.mkdir()
        source = _export_all_zip(folder / "export.zip", separator, system)
        code, _, stderr = run_cli("convert", source, "-f", fmt, "-o", folder / "out")
        assert code == 0, stderr
        outputs[kind] = _tree(folder / "out", source)
    assert outputs["windows"] == outputs["posix"]

    from labelport import load

    documents = list(load(str(tmp_path / "windows" / "export.zip")).documents())
    assert sorted(d.name for d in documents) == ["chat.txt", "news.txt"]
    assert all(sorted(d.versions) == ["alice_w_example_com", "bob_example_com"] or d.name == "chat.txt"
               for d in documents)
    assert sorted(next(d for d in documents if d.name == "chat.txt").versions) == ["alice_w_example_com"]


def test_dot_slash_names_read_like_plain_ones(tmp_path):
    outputs = {}
    for kind, entries in (("plain", [("docs/a.conll", CONLL)]), ("dotted", [("./", b""), ("./docs/./a.conll", CONLL)])):
        (tmp_path / kind).mkdir()
        source = make_zip(tmp_path / kind / "in.zip", entries)
        code, _, stderr = run_cli("convert", source, "-f", "TSV_IOB", "-o", tmp_path / kind / "out")
        assert code == 0, stderr
        outputs[kind] = _tree(tmp_path / kind / "out", source)
    assert outputs["dotted"] == outputs["plain"]
    assert outputs["dotted"]["a.conll.tsv"] == b"John\tB-person\nlives\tO\nin\tO\nParis\tB-location\n"


def test_a_lying_xlsx_dimension_reads_the_real_rows(tmp_path):
    """``<dimension ref="A1:XFD1048576">`` claims 16,384 columns by a million
    rows: the real rows are read, as from the same sheet with the true one."""
    rows = "".join(f'<row r="{n}">' + "".join(f'<c r="{col}{n}" t="inlineStr"><is><t>{value}</t></is></c>'
                                              for col, value in zip("AB", row)) + "</row>"
                   for n, row in enumerate(TABLE, 1))
    outputs = {}
    for kind, dimension in (("true", "A1:B3"), ("lying", "A1:XFD1048576")):
        (tmp_path / kind).mkdir()
        source = tmp_path / kind / "in.xlsx"
        source.write_bytes(workbook(SHEET.format(dimension=dimension, rows=rows)))
        code, _, stderr = run_limited("convert", source, "-f", "CSV", "--label-column", "label",
                                      "-o", tmp_path / kind / "out")
        assert code == 0, stderr
        outputs[kind] = _tree(tmp_path / kind / "out", source)
    assert outputs["lying"] == outputs["true"]
    table = outputs["true"]["in.xlsx.csv"].decode()
    assert table.splitlines()[1:] == ["hello there,greeting", "see you,farewell"], table


def test_raising_a_limit_lets_a_refused_zip_through(places, tmp_path):
    """A real but very repetitive file deflates past the ratio limit; its variable lets it be read,
    and then it reads like the same file unzipped."""
    inputs, work, out = places
    text = b"x\tO\n" * 600_000 + b"\n"
    (inputs / "long.conll").write_bytes(text)
    source = make_zip(inputs / "long.zip", [("long.conll", text)])
    message = assert_refused(*run_cli("convert", source, "-f", "TSV_IOB", "-o", out), work, out)
    assert "LABELPORT_MAX_ZIP_RATIO" in message, message
    code, _, stderr = run_limited("convert", source, "-f", "TSV_IOB", "-o", out, env={"LABELPORT_MAX_ZIP_RATIO": "5000"})
    assert code == 0, stderr
    code, _, stderr = run_cli("convert", inputs / "long.conll", "-f", "TSV_IOB", "-o", tmp_path / "plain")
    assert code == 0, stderr
    assert (out / "long.conll.tsv").read_bytes() == (tmp_path / "plain" / "long.conll.tsv").read_bytes()


def test_a_bad_limit_value_is_a_usage_error(places):
    inputs, work, out = places
    source = conll_zip(inputs / "in.zip")
    code, stdout, stderr = run_limited("convert", source, "-f", "CSV", "-o", out, env={"LABELPORT_MAX_ZIP_RATIO": "lots"})
    message = assert_refused(code, stdout, stderr, work, out)
    assert "LABELPORT_MAX_ZIP_RATIO must be a positive whole number, not 'lots'" in message, message


def test_a_real_export_passes_the_default_limits(tmp_path):
    """examples/newsroom-export.zip, a real export-all's shape, made 3,000
    documents big (REVIEW, ROOT and three labelers' folders: 15,000 entries
    and their folders), opens with every default limit and reads as one project."""
    from labelport import load
    from labelport.guards.archives import Archive

    example = zipfile.ZipFile(FIXTURES.parent.parent / "examples" / "newsroom-export.zip")
    news = example.read("newsroom-p8Xk2Lq9/REVIEW/news.txt.json")
    folders = ["REVIEW", "ROOT-olga_example_com", "DOCUMENT-alice_w_example_com", "DOCUMENT-bob_example_com",
               "DOCUMENT-carol_example_com"]
    entries = [(f"news-p1/{folder}/", b"") for folder in folders]
    entries += [(f"news-p1/{folder}/doc{n:04}.txt.json", news) for folder in folders for n in range(3000)]
    big = make_zip(tmp_path / "big.zip", entries)
    started = time.process_time()
    with Archive(big) as archive:
        assert len(archive.names) == 15_000
    assert time.process_time() - started < 5, "vetting 15,000 entries took too long"
    project = load(str(big))
    assert project.id == "p1" and [labeler.folder for labeler in project.labelers] == [
        "alice_w_example_com", "bob_example_com", "carol_example_com"]
    with Archive(FIXTURES.parent.parent / "examples" / "newsroom-export.zip") as archive:
        assert len(archive.names) == 8 and all(archive.read(name) for name in archive.names)


def test_a_zip_read_by_forked_workers_reads_like_one_process(tmp_path, wnut17_train):
    """--jobs forks workers that share the open archive: each reads it through a handle of its own
    (one shared file position made them read each other's bytes: 'invalid distance too far back')."""
    source = make_zip(tmp_path / "in.zip", [(f"docs/d{n}.conll", wnut17_train.read_bytes()) for n in range(8)])
    for jobs in ("1", "2"):
        code, _, stderr = run_cli("convert", source, "-f", "TSV_IOB", "-o", tmp_path / jobs, "--jobs", jobs)
        assert code == 0, stderr
    assert _tree(tmp_path / "2", source) == _tree(tmp_path / "1", source)


# -- the service: a project's zip in its DIR -------------------------------------------------------------

SERVED_CASES = ["bomb-one-entry-by-ratio", "symlink", "duplicate-after-backslash", "not-a-zip-named-zip",
                "two-projects", "corrupt-crc"]


@pytest.mark.parametrize("case", SERVED_CASES)
def test_the_service_refuses_a_hostile_project_zip(service, tmp_path, case):
    """A zip in ``labelport serve``'s DIR is a project, read through the same layer: the export request
    (or, for what shows only as an entry is read, the job) fails with the archive's message, and no file is
    delivered."""
    _, build, env, words = next(c for c in CASES if c[0] == case)
    (tmp_path / "in").mkdir()
    project = f"hostile-{case}"
    (service.projects / f"{project}.zip").write_bytes(build(tmp_path / "in").read_bytes())
    fields = {"projectIds": [project], "fileName": project, "format": "TSV_IOB", "method": "FILE_STORAGE"}
    if case == "corrupt-crc":
        result = service.export(**fields)
        status = service.wait(result["exportId"])
        assert status["deliveryStatus"] == "FAILED", status
        message = status["errors"][0]["stack"]
        assert httpx.get(result["fileUrl"]).status_code == 404
    else:
        message = service.error(**fields)["message"]
    assert f"{project}.zip" in message, message
    for word in words[1:]:
        assert word in message, message


def test_a_document_only_in_root_is_read_unlabeled(places):
    """A document the final folder lacks, held only by the owner's ROOT copy
    (no labeler has it), is read from ROOT without labels (found by the fuzz:
    it was a RuntimeError)."""
    inputs, work, out = places
    archive = zipped([("p-1/REVIEW/news.txt.json", NEWS), ("p-1/ROOT-o/news.txt.json", NEWS),
                      ("p-1/ROOT-o/chat.txt.json", (NEWSROOM / "ROOT-olga_example_com" / "chat.txt.json").read_bytes())])(inputs)
    code, _, stderr = run_cli("convert", archive, "-f", "JSON_ADVANCED", "-o", out)
    assert code == 0, stderr
    chat = json.loads((out / "chat.txt.json").read_text())
    source = json.loads((NEWSROOM / "ROOT-olga_example_com" / "chat.txt.json").read_text())["data"]
    assert [s["content"] for s in chat["sentences"]] == [c["content"] for c in source["cells"]]
    assert chat["labels"] == []
