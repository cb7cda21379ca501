"""Pairing a server-made AMAZON_COMPREHEND_CSV export with its text, for
``labelport export datasaur://ID -f AMAZON_COMPREHEND_CSV`` (labelport.client.fetch).

For token labeling, Comprehend needs the text beside the annotations. A server
that writes only per-document annotation CSVs (Datasaur's own export) does not
send it, so the PLAIN export of the same project is fetched too and paired:
each annotation's ``File`` is matched to a text file (the exact name, else the
name + ``.txt``, else the same stem) and every offset checked against that
file's lines. A mismatch is reported (``pairing`` in the report, and a hard
finding). What pairs is written in labelport's layout (:mod:`.writer`'s
docstring) with the writer's own header, cell quoting and JSON configs.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from ...formats.base import OVERLAPS
from ...report import Report
from ...validate.walk import visible_files
from .rules import ANNOTATIONS, CLASSIFIER, CLASSIFIER_JSON, DEFAULT_DELIMITER, MAX_DOCUMENT_BYTES, RECOGNIZER_JSON
from .writer import HEADER_LINE, classifier_config, csv_cell, recognizer_config, write_json

MAX_REPORTED = 100  # mismatches listed in the report (all are counted)
MAX_FINDINGS = 20  # mismatches given as findings, then one that counts the rest
EMPTY_LINES_RENUMBERED = f"empty lines (a Comprehend document is 1 to {MAX_DOCUMENT_BYTES:,} bytes; not written, Line renumbered)"


def header_names(path: Path) -> list[str]:
    """The names in a CSV's first line, stripped ([] when it cannot be read)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            first = fh.readline(4096)
    except OSError:
        return []
    return [name.strip() for name in first.rstrip("\r\n").split(",")]


def annotation_csvs(folder: Path) -> list[Path]:
    """The CSVs of ``folder`` whose header names File, Begin Offset and End Offset."""
    out = []
    for path in visible_files(folder):
        if path.suffix.lower() == ".csv":
            names = [n.lower() for n in header_names(path)]
            if names and names[0] == "file" and "begin offset" in names and "end offset" in names:
                out.append(path)
    return out


@dataclass
class _Row:
    csv: str  # relative path of the CSV
    number: int  # its line in the CSV (the header is 1)
    file: str
    line: int
    begin: int
    end: int
    type: str


def _read_rows(folder: Path, paths: list[Path], report: Report) -> list[_Row]:
    rows: list[_Row] = []
    for path in paths:
        rel = path.relative_to(folder).as_posix()
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            col = {name: header.index(name) for name in header}
            status = col.get("label status")
            number = 1
            for record in reader:
                number = reader.line_num
                if not record:
                    continue
                try:
                    name = record[col["file"]]
                    line = int(record[col["line"]]) if "line" in col else 0
                    begin, end = int(record[col["begin offset"]]), int(record[col["end offset"]])
                    kind = record[col["type"]]
                except (KeyError, IndexError, ValueError):
                    report.find("fetch.annotations", f"not an annotation row: {record!r}", hard=True, file=rel, line=number)
                    continue
                if status is not None and status < len(record) and record[status].strip().upper() == "CONFLICT":
                    report.drop("unresolved (CONFLICT) entries", {"csv": rel, "row": number, "File": name})
                    continue
                rows.append(_Row(rel, number, name, line, begin, end, kind))
    return rows


def match_file(name: str, candidates: dict[str, list[Path]]) -> tuple[Path | None, str]:
    """The text file an annotation's File names: (path, how) or (None, why not).
    ``candidates`` maps file names to the files of that name."""
    def one(found: list[Path], how: str) -> tuple[Path | None, str]:
        if len(found) == 1:
            return found[0], how
        return None, f"several files match {name!r} ({how})"

    if name in candidates:
        return one(candidates[name], "exact name")
    if name + ".txt" in candidates:
        return one(candidates[name + ".txt"], "name + .txt")
    stem = PurePosixPath(name).stem
    same = [p for file_name, paths in candidates.items() for p in paths
            if PurePosixPath(file_name).stem in (stem, name) or file_name == stem]
    if same:
        return one(sorted(set(same)), "same stem")
    return None, f"no file for File {name!r}"


def _text_lines(path: Path) -> list[str]:
    """A documents file's lines as Comprehend and the validator read them
    (LF, CR or CRLF ends a line)."""
    with open(path, encoding="utf-8", newline=None) as fh:
        return [line.removesuffix("\n") for line in fh]


def pair_comprehend(content: Path, stage: Path, report: Report, fetch_plain: Callable[[], Path]) -> None:
    """The README's entity-recognizer layout from per-document annotation CSVs
    and the text files they point to (fetched beside them, or in PLAIN)."""
    rows = _read_rows(content, annotation_csvs(content), report)
    names = sorted({row.file for row in rows})
    local: dict[str, list[Path]] = {}
    for path in visible_files(content):
        if path.suffix.lower() not in (".csv", ".json"):
            local.setdefault(path.name, []).append(path)
    matched: dict[str, tuple[Path, str, str]] = {}  # File -> (text file, how, where)
    problems: dict[str, str] = {}
    for name in names:
        if name in local and len(local[name]) == 1:
            matched[name] = (local[name][0], "exact name", "served")
    plain_root = None
    if len(matched) < len(names):
        plain_root = fetch_plain()
        plain: dict[str, list[Path]] = {}
        for path in visible_files(plain_root):
            plain.setdefault(path.name, []).append(path)
        unmatched = [name for name in names if name not in matched]
        only = [p for paths in plain.values() for p in paths]
        for name in names:
            if name in matched:
                continue
            path, how = match_file(name, plain)
            if path is None and len(unmatched) == 1 and len(only) == 1:  # one document's export: its one text
                path, how = only[0], "the one PLAIN file"
            if path is None:
                problems[name] = how
            else:
                matched[name] = (path, how, "PLAIN")
    pairing: dict[str, Any] = {
        "plain_fetched": plain_root is not None,
        "files": {name: {"matched": m[0].name, "how": m[1], "from": m[2]} for name, m in matched.items()},
        "unmatched": problems,
    }
    mismatches: list[dict[str, Any]] = []
    lines_of: dict[str, list[str]] = {}
    for name, (path, _how, _where) in matched.items():
        try:
            lines_of[name] = _text_lines(path)
        except UnicodeDecodeError as exc:
            problems[name] = f"{path.name} is not UTF-8 ({exc.reason})"
    kept: list[_Row] = []
    for row in rows:
        problem = _offset_problem(row, lines_of, problems)
        if problem is None:
            kept.append(row)
        else:
            mismatches.append({"csv": row.csv, "row": row.number, "File": row.file, "Line": row.line,
                               "Begin Offset": row.begin, "End Offset": row.end, "Type": row.type, "problem": problem})
    pairing["annotations"] = len(rows)
    pairing["mismatches"] = len(mismatches)
    pairing["examples"] = mismatches[:MAX_REPORTED]
    report.notes["pairing"] = pairing
    for m in mismatches[:MAX_FINDINGS]:
        report.find("fetch.pairing", f"File {m['File']!r} Line {m['Line']} [{m['Begin Offset']}, {m['End Offset']}) "
                                     f"{m['Type']}: {m['problem']}", hard=True, file=m["csv"], line=m["row"])
    if len(mismatches) > MAX_FINDINGS:
        report.find("fetch.pairing", f"{len(mismatches) - MAX_FINDINGS:,} more annotations do not pair (not shown)",
                    hard=True)
    for name, why in problems.items():
        if not any(m["File"] == name for m in mismatches):
            report.find("fetch.pairing", why, hard=True)
    _write_entities(stage, kept, {name: lines_of[name] for name in matched if name in lines_of}, report)


def _offset_problem(row: _Row, lines_of: dict[str, list[str]], problems: dict[str, str]) -> str | None:
    if row.file in problems:
        return problems[row.file]
    lines = lines_of.get(row.file)
    if lines is None:
        return f"no file for File {row.file!r}"
    if not 0 <= row.line < len(lines):
        return f"Line {row.line} is not in the file ({len(lines)} lines, counted from 0)"
    length = len(lines[row.line])
    if not 0 <= row.begin < row.end <= length:
        return f"offsets outside the line ({length} characters; need 0 <= begin < end <= length)"
    return None


def _write_entities(stage: Path, rows: list[_Row], lines_of: dict[str, list[str]], report: Report) -> None:
    """train/documents/<File>, train/annotations/annotations.csv, entity_recognizer.json.
    Empty lines are left out (a Comprehend document is 1 to 5,000 bytes) and
    Line numbers moved to match; overlapping spans are left out as labelport's
    writer does (the report lists them)."""
    documents = stage / "train" / "documents"
    documents.mkdir(parents=True, exist_ok=True)
    renumber: dict[str, dict[int, int]] = {}
    for name, lines in lines_of.items():
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            report.find("fetch.pairing", f"File {name!r} is not a bare file name", hard=True)
            continue
        mapping: dict[int, int] = {}
        with open(documents / name, "w", encoding="utf-8", newline="\n") as fh:
            for index, text in enumerate(lines):
                if not text:
                    report.drop(EMPTY_LINES_RENUMBERED,
                                {"File": name, "line": index})
                    continue
                mapping[index] = len(mapping)
                fh.write(text + "\n")
        renumber[name] = mapping
    by_line: dict[tuple[str, int], list[_Row]] = {}
    for row in rows:
        if row.file in renumber:
            by_line.setdefault((row.file, row.line), []).append(row)
    types: set[str] = set()
    annotations = stage / "train" / "annotations" / ANNOTATIONS
    annotations.parent.mkdir(parents=True, exist_ok=True)
    with open(annotations, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER_LINE)
        for (name, line), group in sorted(by_line.items()):
            reach = -1
            for row in sorted(group, key=lambda r: (r.begin, -r.end)):
                if row.begin < reach:
                    text = lines_of[name][line][row.begin:row.end]
                    report.drop(OVERLAPS, {"File": name, "line": line, "label": row.type, "text": text})
                    continue
                reach = row.end
                types.add(row.type)
                fh.write(f"{csv_cell(name)},{renumber[name][line]},{row.begin},{row.end},{csv_cell(row.type)}\n")
    write_json(stage / RECOGNIZER_JSON, recognizer_config(types, test=False))


def lay_out_classifier(content: Path, stage: Path) -> bool:
    """The README's classifier layout from whatever classifier CSVs were
    served; False when none was (nothing written)."""
    tables = [p for p in visible_files(content) if p.suffix.lower() == ".csv"]
    if not tables:
        return False
    multi = False
    splits: dict[str, list[Path]] = {}
    for path in tables:
        split = "test" if "test" in path.relative_to(content).as_posix().lower() else "train"
        splits.setdefault(split, []).append(path)
    for split, paths in splits.items():
        target = stage / split / CLASSIFIER
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            for path in paths:
                data = path.read_bytes()
                if data and not data.endswith(b"\n"):
                    data += b"\n"
                multi = multi or any(row and DEFAULT_DELIMITER in row[0] for row in csv.reader(io.StringIO(data.decode("utf-8", "replace"))))
                out.write(data)
    write_json(stage / CLASSIFIER_JSON, classifier_config(DEFAULT_DELIMITER if multi else None, test="test" in splits))
    return True
