"""Hostile and awkward Datasaur JSON: DATASAUR_SCHEMA (token, row and document
projects), JSON_ADVANCED and an export-all's project-data.json (issue 11,
items 1 and 5).

Every refused case is a real shape (the fixtures in tests/fixtures/datasaur,
examples/newsroom-export.zip) with one value made wrong. It must be refused
through :func:`hostile.assert_refused` (exit 2, one ``labelport: error:``
line, nothing written), with a message naming the file and the JSON path of
what is wrong. The awkward-but-valid cases check what is read against the
source, re-parsed independently.
"""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import FIXTURES, ROOT, run_cli
from hostile import assert_refused

NEWSROOM = FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9"
TICKETS = FIXTURES / "datasaur" / "support-tickets-r7Tt"
EXPORT_ZIP = ROOT / "examples" / "newsroom-export.zip"

NEWS = json.loads((NEWSROOM / "REVIEW" / "news.txt.json").read_text(encoding="utf-8"))  # token + document
ROWS = json.loads((TICKETS / "REVIEW" / "tickets.csv.json").read_text(encoding="utf-8"))  # row
DOCUMENT = {  # a document project: its text, questions and answers
    "version": "1",
    "data": {
        "project": {"id": "d1", "name": "letters"},
        "document": {"id": "l1", "name": "letter.txt"},
        "kinds": ["DOCUMENT_BASED"],
        "labelerInfo": None,
        "labelSets": [],
        "questions": [],
        "documentQuestions": NEWS["data"]["documentQuestions"],
        "text": "Dear Sir, the invoice is wrong.",
        "documentAnswers": [{"answers": {"0": "politics"}, "labeledBy": "REVIEWER", "labeledByUserId": 3,
                             "status": "ACCEPTED"}],
        "comments": [],
    },
}  # fmt: skip
ADVANCED = {
    "sentences": [
        {"id": 0, "content": "John Smith lives in Paris", "tokens": ["John", "Smith", "lives", "in", "Paris"],
         "metadata": []},
        {"id": 1, "content": "He likes it", "tokens": ["He", "likes", "it"], "metadata": []},
    ],
    "labelerInfo": None,
    "labelSets": [{"index": 0, "id": "ner", "name": "NER", "labelItems": [
        {"id": "1", "labelName": "PER"}, {"id": "2", "labelName": "LOC"}, {"id": "3", "labelName": "LIVES_IN"}]}],
    "labels": [
        {"id": "s1", "type": "SPAN", "layer": 0, "labelSetItemId": "1", "labelName": "PER", "startCellLine": 0,
         "startTokenIndex": 0, "startCharIndex": 0, "endCellLine": 0, "endTokenIndex": 1, "endCharIndex": 4},
        {"id": "a1", "type": "ARROW", "layer": 0, "labelSetItemId": "3", "labelName": "LIVES_IN", "originId": "s1",
         "targetId": "s2"},
        {"id": "s2", "type": "SPAN", "layer": 0, "labelSetItemId": "2", "labelName": "LOC", "startCellLine": 0,
         "startTokenIndex": 4, "startCharIndex": 0, "endCellLine": 0, "endTokenIndex": 4, "endCharIndex": 4},
    ],
    "comments": [],
}  # fmt: skip

DELETE = object()
BIG = 123456789012345678901234567890  # past 64 bits: no writer could write it back


def changed(base: dict, *edits: tuple[tuple, Any]) -> dict:
    """A deep copy of ``base`` with each (path, value) set (DELETE: removed)."""
    document = copy.deepcopy(base)
    for path, value in edits:
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if value is DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return document


def span(n: int, key: str) -> tuple:
    return ("data", "spanLabels", n, key)


# (id, file name, content, extra arguments, the JSON path the message must name, other words it must hold)
CASES: list[tuple[str, str, Any, tuple, str, list[str]]] = [
    # -- DATASAUR_SCHEMA, token project: span coordinates ------------------------------
    ("fraction-token-index", "news.json", changed(NEWS, (span(3, "startTokenIndex"), 1.5)), (),
     "$.data.spanLabels[3].startTokenIndex", ["expected an integer", "got 1.5"]),
    ("boolean-token-index", "news.json", changed(NEWS, (span(3, "endTokenIndex"), True)), (),
     "$.data.spanLabels[3].endTokenIndex", ["got true"]),
    ("numeric-string-char-index", "news.json", changed(NEWS, (span(0, "startCharIndex"), "0")), (),
     "$.data.spanLabels[0].startCharIndex", ['got "0"']),
    ("negative-line", "news.json", changed(NEWS, (span(2, "startCellLine"), -1)), (),
     "$.data.spanLabels[2].startCellLine", [">= 0", "got -1"]),
    ("fraction-char-index-that-looks-whole", "news.json", changed(NEWS, (span(1, "endCharIndex"), 4.0)), (),
     "$.data.spanLabels[1].endCharIndex", ["got 4.0"]),
    ("line-that-does-not-exist", "news.json", changed(NEWS, (span(4, "endCellLine"), 99)), (),
     "$.data.spanLabels[4].endCellLine", ["line 99 does not exist"]),
    ("token-past-the-line", "news.json", changed(NEWS, (span(3, "endTokenIndex"), 10)), (),
     "$.data.spanLabels[3].endTokenIndex", ["past the end of line 1"]),
    ("char-outside-its-token", "news.json", changed(NEWS, (span(1, "endCharIndex"), 5)), (),
     "$.data.spanLabels[1].endCharIndex", ["falls outside its token"]),
    ("span-ending-before-its-start", "news.json",
     changed(NEWS, (span(0, "startTokenIndex"), 1), (span(0, "endTokenIndex"), 0)), (),
     "$.data.spanLabels[0]", ["ends before it starts"]),
    ("span-ending-on-an-earlier-line", "news.json",
     changed(NEWS, (span(6, "startCellLine"), 2), (span(6, "endCellLine"), 1)), (),
     "$.data.spanLabels[6].endCellLine", ["before it starts"]),
    ("unknown-label-set-item", "news.json", changed(NEWS, (span(5, "labelSetItemId"), "999")), (),
     "$.data.spanLabels[5].labelSetItemId", ["'999'"]),
    ("missing-start-token", "news.json", changed(NEWS, (span(3, "startTokenIndex"), DELETE)), (),
     "$.data.spanLabels[3].startTokenIndex", ["missing"]),
    ("span-entry-not-an-object", "news.json", changed(NEWS, (span(2, "id"), DELETE), (("data", "spanLabels", 2), 7)),
     (), "$.data.spanLabels[2]", ["expected an object"]),
    ("span-labels-an-object", "news.json", changed(NEWS, (("data", "spanLabels"), {"s1": {}})), (),
     "$.data.spanLabels", ["expected a list"]),
    ("span-extra-key-past-64-bits", "news.json", changed(NEWS, (span(0, "hashCode"), [1, BIG])), (),
     "$.data.spanLabels[0].hashCode[1]", ["too large"]),
    # -- DATASAUR_SCHEMA, token project: lines, label sets, arrows, people -------------
    ("cells-a-string", "news.json", changed(NEWS, (("data", "cells"), "Barack Obama")), (),
     "$.data.cells", ["expected a list"]),
    ("cell-content-null", "news.json", changed(NEWS, (("data", "cells", 1, "content"), None)), (),
     "$.data.cells[1].content", ["got null"]),
    ("cell-tokens-not-text", "news.json", changed(NEWS, (("data", "cells", 2, "tokens"), [1, 2])), (),
     "$.data.cells[2].tokens[0]", ["expected a string"]),
    ("cell-token-not-in-its-content", "news.json", changed(NEWS, (("data", "cells", 0, "tokens", 3), "London")), (),
     "$.data.cells[0].tokens[3]", ["'London'"]),
    ("cell-line-a-string", "news.json", changed(NEWS, (("data", "cells", 0, "line"), "0")), (),
     "$.data.cells[0].line", ['got "0"']),
    ("line-number-used-twice", "news.json", changed(NEWS, (("data", "cells", 2, "line"), 1)), (),
     "$.data.cells[2]", ["used twice"]),
    ("cell-metadata-past-64-bits", "news.json", changed(NEWS, (("data", "cells", 1, "metadata"), [{"n": BIG}])), (),
     "$.data.cells[1].metadata[0].n", ["too large"]),
    ("label-items-an-object", "news.json", changed(NEWS, (("data", "labelSets", 0, "labelItems"), {"1": "PER"})), (),
     "$.data.labelSets[0].labelItems", ["expected a list"]),
    ("labeler-info-a-string", "news.json", changed(NEWS, (("data", "labelerInfo"), "alice@example.com")), (),
     "$.data.labelerInfo", ["expected an object"]),
    ("arrow-without-origin", "news.json", changed(NEWS, (("data", "arrowLabels", 1, "originId"), DELETE)), (),
     "$.data.arrowLabels[1].originId", ["missing"]),
    ("arrow-layer-fraction", "news.json", changed(NEWS, (("data", "arrowLabels", 0, "layer"), 0.5)), (),
     "$.data.arrowLabels[0].layer", ["got 0.5"]),
    ("arrow-unknown-label-set-item", "news.json", changed(NEWS, (("data", "arrowLabels", 0, "labelSetItemId"), 42)),
     (), "$.data.arrowLabels[0].labelSetItemId", ["42"]),
    ("question-options-a-string", "news.json",
     changed(NEWS, (("data", "documentQuestions", 0, "config", "options"), "politics,sport")), (),
     "$.data.documentQuestions[0].config.options", ["expected a list"]),
    ("unknown-kind", "news.json", changed(NEWS, (("data", "kinds", 1), "VIDEO_BASED")), (),
     "$.data.kinds[1]", ["VIDEO_BASED"]),
    ("data-a-list", "news.json", changed(NEWS, (("data",), [NEWS["data"]])), (), "$.data", ["expected an object"]),
    ("document-name-a-number", "news.json", changed(NEWS, (("data", "document", "name"), 7)), (),
     "$.data.document.name", ["got 7"]),
    ("json-advanced-asked-of-a-schema-file", "news.json", NEWS, ("--from", "JSON_ADVANCED"), "$",
     ["not JSON_ADVANCED"]),
    # -- DATASAUR_SCHEMA, row project ----------------------------------------------------
    ("row-index-not-a-number", "tickets.json", changed(ROWS, (("data", "rows", 0, "index"), "first")), (),
     "$.data.rows[0].index", ['got "first"']),
    ("row-cells-null", "tickets.json", changed(ROWS, (("data", "rows", 1, "cells"), None)), (),
     "$.data.rows[1].cells", ["got null"]),
    ("row-cell-a-number", "tickets.json", changed(ROWS, (("data", "rows", 1, "cells", 0), 2)), (),
     "$.data.rows[1].cells[0]", ["got 2"]),
    ("row-short-of-columns", "tickets.json", changed(ROWS, (("data", "rows", 2, "cells"), ["T-3"])), (),
     "$.data.rows[2].cells", ["1 cells for the 2 columns"]),
    ("row-answer-index-fraction", "tickets.json", changed(ROWS, (("data", "rowAnswers", 0, "rowIndex"), 0.5)), (),
     "$.data.rowAnswers[0].rowIndex", ["got 0.5"]),
    ("row-answer-for-no-row", "tickets.json", changed(ROWS, (("data", "rowAnswers", 1, "rowIndex"), 9)), (),
     "$.data.rowAnswers[1].rowIndex", ["row 9 does not exist"]),
    ("row-answer-without-row", "tickets.json", changed(ROWS, (("data", "rowAnswers", 3, "rowIndex"), DELETE)), (),
     "$.data.rowAnswers[3].rowIndex", ["missing"]),
    ("row-answers-a-list", "tickets.json", changed(ROWS, (("data", "rowAnswers", 0, "answers"), ["billing"])), (),
     "$.data.rowAnswers[0].answers", ["expected an object"]),
    ("row-answer-past-64-bits", "tickets.json", changed(ROWS, (("data", "rowAnswers", 0, "answers", "0"), BIG)), (),
     "$.data.rowAnswers[0].answers.0", ["too large"]),
    ("columns-not-text", "tickets.json", changed(ROWS, (("data", "columns"), ["ticket_id", None])), (),
     "$.data.columns[1]", ["got null"]),
    ("question-required-a-string", "tickets.json", changed(ROWS, (("data", "questions", 0, "required"), "yes")), (),
     "$.data.questions[0].required", ['got "yes"']),
    # -- DATASAUR_SCHEMA, document project -------------------------------------------------
    ("text-a-number", "letter.json", changed(DOCUMENT, (("data", "text"), 42)), (), "$.data.text", ["got 42"]),
    ("document-answers-an-object", "letter.json",
     changed(DOCUMENT, (("data", "documentAnswers"), {"0": "politics"})), (),
     "$.data.documentAnswers", ["expected a list"]),
    ("document-answer-user-a-list", "letter.json",
     changed(DOCUMENT, (("data", "documentAnswers", 0, "labeledByUserId"), [3])), (),
     "$.data.documentAnswers[0].labeledByUserId", ["got a list"]),
    # -- JSON_ADVANCED ------------------------------------------------------------------------
    ("sentences-an-object", "doc.txt.json", changed(ADVANCED, (("sentences",), {"0": "John"})), (),
     "$.sentences", ["expected a list"]),
    ("label-of-no-text-type", "doc.txt.json", changed(ADVANCED, (("labels", 1, "type"), "BOX")), (),
     "$.labels[1].type", ["'BOX'"]),
    ("label-without-type", "doc.txt.json", changed(ADVANCED, (("labels", 0, "type"), DELETE)), (),
     "$.labels[0].type", ["missing"]),
    ("advanced-fraction-char-index", "doc.txt.json", changed(ADVANCED, (("labels", 2, "startCharIndex"), 0.5)), (),
     "$.labels[2].startCharIndex", ["got 0.5"]),
    ("sentence-id-a-string", "doc.txt.json", changed(ADVANCED, (("sentences", 1, "id"), "1")), (),
     "$.sentences[1].id", ['got "1"']),
    ("sentence-numbered-by-line", "doc.txt.json",
     changed(ADVANCED, (("sentences", 0, "line"), 0), (("sentences", 0, "id"), DELETE)), (),
     "$.sentences[0].id", ["missing"]),
    ("advanced-token-past-the-line", "doc.txt.json", changed(ADVANCED, (("labels", 2, "endTokenIndex"), 5)), (),
     "$.labels[2].endTokenIndex", ["past the end of line 0"]),
    ("arrow-target-null", "doc.txt.json", changed(ADVANCED, (("labels", 1, "targetId"), None)), (),
     "$.labels[1].targetId", ["got null"]),
    ("advanced-unknown-label-set-item", "doc.txt.json", changed(ADVANCED, (("labels", 0, "labelSetItemId"), "7")), (),
     "$.labels[0].labelSetItemId", ["'7'"]),
    ("schema-asked-of-an-advanced-file", "doc.txt.json", ADVANCED, ("--from", "DATASAUR_SCHEMA"), "$",
     ["not DATASAUR_SCHEMA"]),
    ("top-level-a-list", "doc.txt.json", [ADVANCED], (), "$", ["not DATASAUR_SCHEMA or JSON_ADVANCED"]),
]


def assert_names(message: str, file: str, path: str, words: list[str]) -> None:
    assert f"{file}: {path}: " in message or f"{file}: {path}" == message[-len(f"{file}: {path}"):], (
        f"the message does not name {file} and {path}: {message}"
    )
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("case_id,name,content,extra,path,words", CASES, ids=[c[0] for c in CASES])
def test_refused(places, case_id, name, content, extra, path, words):
    inputs, work, out = places
    source = inputs / name
    source.write_text(json.dumps(content), encoding="utf-8")
    message = assert_refused(*run_cli("convert", source, "-f", "JSON", "-o", out, *extra), work, out)
    assert_names(message, name, path, words)


def rezipped(archive: Path, member: str, edit: Callable[[Any], Any]) -> bytes:
    """examples/newsroom-export.zip with one member's JSON changed."""
    target = archive.parent / "x.zip"
    with zipfile.ZipFile(EXPORT_ZIP) as source, zipfile.ZipFile(target, "w") as copy_:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == member:
                data = json.dumps(edit(json.loads(data))).encode()
            copy_.writestr(info, data)
    return target.read_bytes()


PROJECT_DATA = "newsroom-p8Xk2Lq9/project-data.json"
ALICE_NEWS = "newsroom-p8Xk2Lq9/DOCUMENT-alice_w_example_com/news.txt.json"
REVIEW_CHAT = "newsroom-p8Xk2Lq9/REVIEW/chat.txt.json"

# (id, member changed, the change, the JSON path the message must name, other words)
ZIP_CASES = [
    ("project-a-list", PROJECT_DATA, lambda d: {"project": [d["project"]]}, "$.project", ["expected an object"]),
    ("tags-a-string", PROJECT_DATA, lambda d: changed(d, (("project", "tags"), "demo,ner")), "$.project.tags",
     ["expected a list"]),
    ("project-id-a-fraction", PROJECT_DATA, lambda d: changed(d, (("project", "id"), 8.5)), "$.project.id",
     ["got 8.5"]),
    ("title-an-object", PROJECT_DATA, lambda d: changed(d, (("project", "title"), {"en": "newsroom"})),
     "$.project.title", ["got an object"]),
    ("tag-past-64-bits", PROJECT_DATA, lambda d: changed(d, (("project", "tags"), ["demo", BIG])), "$.project.tags[1]",
     ["too large"]),
    ("labeler-email-a-number", ALICE_NEWS, lambda d: changed(d, (("data", "labelerInfo", "email"), 11)),
     "$.data.labelerInfo.email", ["got 11"]),
    ("review-span-fraction", REVIEW_CHAT, lambda d: changed(d, (span(0, "endCharIndex"), 8.5)),
     "$.data.spanLabels[0].endCharIndex", ["got 8.5"]),
]


@pytest.mark.parametrize("case_id,member,edit,path,words", ZIP_CASES, ids=[c[0] for c in ZIP_CASES])
def test_refused_in_an_export_all_zip(places, case_id, member, edit, path, words):
    inputs, work, out = places
    archive = inputs / "export.zip"
    archive.write_bytes(rezipped(archive, member, edit))
    message = assert_refused(*run_cli("convert", archive, "-f", "JSON", "-o", out), work, out)
    assert_names(message, f"export.zip:{member}", path, words)


# -- awkward but valid --------------------------------------------------------------------

def read_back(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_word_sentences_in_tokens_is_still_datasaur_schema(places):
    """Before, the bytes "sentences" in a file's first 4 KB made it JSON_ADVANCED."""
    inputs, work, out = places
    document = changed(NEWS, (("data", "cells", 0), {"line": 0, "content": 'the "sentences" said sentences',
                                                     "tokens": ['the', '"sentences"', "said", "sentences"],
                                                     "metadata": []}),
                       (("data", "spanLabels"), [e for e in NEWS["data"]["spanLabels"] if e["startCellLine"] != 0]),
                       (("data", "arrowLabels"), []))  # fmt: skip
    source = inputs / "news.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    code, _, stderr = run_cli("convert", source, "-f", "DATASAUR_SCHEMA", "-o", out)
    assert code == 0, stderr
    written = read_back(out / "news.txt.json")["data"]
    assert written["cells"][0]["tokens"] == ['the', '"sentences"', "said", "sentences"]
    assert written["documentSettings"] == {"textDirection": "LTR"}  # read as DATASAUR_SCHEMA: its extra key kept


def test_json_advanced_whose_first_key_is_not_sentences(places):
    inputs, work, out = places
    reordered = {key: ADVANCED[key] for key in ("labels", "labelSets", "comments", "labelerInfo", "sentences")}
    source = inputs / "doc.txt.json"
    source.write_text(json.dumps(reordered), encoding="utf-8")
    code, _, stderr = run_cli("convert", source, "-f", "TSV_IOB", "-o", out)
    assert code == 0, stderr
    assert (out / "doc.txt.tsv").read_text(encoding="utf-8").split("\n\n")[0].splitlines() == [
        "John\tB-PER", "Smith\tI-PER", "lives\tO", "in\tO", "Paris\tB-LOC",
    ]


def test_a_folder_mixing_both_formats_reads_each_file_as_its_own(places):
    """A JSON_ADVANCED file first, then DATASAUR_SCHEMA ones with and without
    unknown keys: each is read as it would be alone."""
    inputs, work, out = places
    folder = inputs / "mixed"
    folder.mkdir()
    (folder / "a.txt.json").write_text(json.dumps(ADVANCED), encoding="utf-8")
    (folder / "b.json").write_text(json.dumps(NEWS), encoding="utf-8")  # unknown keys: documentSettings, hashCode
    (folder / "c.json").write_text(json.dumps(changed(NEWS, (("data", "documentSettings"), DELETE),
                                                      (span(0, "hashCode"), DELETE),
                                                      (("data", "document", "name"), "news2.txt"))),
                                   encoding="utf-8")  # fmt: skip
    code, _, stderr = run_cli("convert", folder, "-f", "TSV_IOB", "-o", out)
    assert code == 0, stderr
    for name in ("a.txt.json", "b.json", "c.json"):
        alone = work / f"alone-{name}"
        code, _, stderr = run_cli("convert", folder / name, "-f", "TSV_IOB", "-o", alone)
        assert code == 0, stderr
        (written,) = [p for p in alone.iterdir() if p.suffix == ".tsv"]
        assert (out / written.name).read_bytes() == written.read_bytes(), name
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".tsv") == ["a.txt.tsv", "news.txt.tsv", "news2.txt.tsv"]


def test_unknown_keys_are_written_back_exactly(places):
    """Keys labelport does not model, in data, spans, arrows and answers,
    come back with their values and in their order (DATASAUR_SCHEMA), and at
    the top level and in labels (JSON_ADVANCED)."""
    inputs, work, out = places
    document = changed(
        NEWS,
        (span(4, "zeta"), {"nested": [1, 2.5, None, True]}),
        (span(4, "alpha"), "first"),
        (("data", "arrowLabels", 1, "confidence"), 0.75),
        (("data", "documentAnswers", 0, "reviewedAt"), "2026-01-02"),
        (("data", "exportedBy"), ["someone", {"id": 3}]),
    )
    source = inputs / "news.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    code, _, stderr = run_cli("convert", source, "-f", "DATASAUR_SCHEMA", "-o", out)
    assert code == 0, stderr
    written = read_back(out / "news.txt.json")["data"]
    spans = {e["id"]: e for e in written["spanLabels"]}
    assert list(spans["s5"])[-2:] == ["zeta", "alpha"] and spans["s5"]["zeta"] == {"nested": [1, 2.5, None, True]}
    assert spans["s1"]["hashCode"] == "a1b2"
    assert {e["id"]: e.get("confidence") for e in written["arrowLabels"]} == {"a1": None, "a2": 0.75}
    assert written["documentAnswers"][0]["reviewedAt"] == "2026-01-02"
    assert [k for k in written if k in ("documentSettings", "exportedBy")] == ["documentSettings", "exportedBy"]
    assert written["exportedBy"] == ["someone", {"id": 3}]

    advanced = changed(ADVANCED, (("labels", 1, "weight"), 2), (("projectNotes",), {"a": "b"}))
    source = inputs / "doc.txt.json"
    source.write_text(json.dumps(advanced), encoding="utf-8")
    code, _, stderr = run_cli("convert", source, "-f", "JSON_ADVANCED", "-o", work / "adv")
    assert code == 0, stderr
    written = read_back(work / "adv" / "doc.txt.json")
    assert written["projectNotes"] == {"a": "b"}
    assert [e.get("weight") for e in written["labels"] if e["type"] == "ARROW"] == [2]


def test_whole_token_spans_without_char_indices(places):
    """Datasaur leaves the character indices out of whole-token labels."""
    inputs, work, out = places
    labels = [{k: v for k, v in e.items() if not k.endswith("CharIndex")} for e in ADVANCED["labels"]]
    source = inputs / "doc.txt.json"
    source.write_text(json.dumps(changed(ADVANCED, (("labels",), labels))), encoding="utf-8")
    code, _, stderr = run_cli("convert", source, "-f", "JSON_ADVANCED", "-o", out)
    assert code == 0, stderr
    written = {e["id"]: e for e in read_back(out / "doc.txt.json")["labels"] if e["type"] == "SPAN"}
    assert (written["s1"]["startCharIndex"], written["s1"]["endCharIndex"]) == (0, 4)  # "Smith": 5 characters
    assert (written["s2"]["startCharIndex"], written["s2"]["endCharIndex"]) == (0, 4)  # "Paris"


def test_numeric_ids_resolve_against_string_item_ids(places):
    """labelSetItemId given as a number names the item whose id is that number as text."""
    inputs, work, out = places
    labels = [dict(e, labelSetItemId=int(e["labelSetItemId"])) for e in ADVANCED["labels"]]
    labels = [{k: v for k, v in e.items() if k != "labelName"} for e in labels]
    source = inputs / "doc.txt.json"
    source.write_text(json.dumps(changed(ADVANCED, (("labels",), labels))), encoding="utf-8")
    code, _, stderr = run_cli("convert", source, "-f", "TSV_IOB", "-o", out)
    assert code == 0, stderr
    assert (out / "doc.txt.tsv").read_text(encoding="utf-8").split("\n\n")[0].splitlines()[:2] == [
        "John\tB-PER", "Smith\tI-PER",
    ]


@pytest.mark.parametrize("with_unknown_keys", [False, True], ids=["strict-path", "path-keeping-extras"])
def test_invalid_utf8_inside_a_string(places, with_unknown_keys):
    """Bytes that are not UTF-8 inside a cell's text are refused as not JSON,
    whichever decoding path the file takes (found by the fuzz: the path that
    keeps unknown keys raised msgspec's DecodeError)."""
    inputs, work, out = places
    data = copy.deepcopy(NEWS)
    if with_unknown_keys:
        data["data"]["documentSettings"] = {"textDirection": "LTR"}
    else:
        data["data"].pop("documentSettings", None)
        for entry in data["data"]["spanLabels"]:
            entry.pop("hashCode", None)
    raw = json.dumps(data, ensure_ascii=False).encode("utf-8").replace(b"Paris", b"Pa\xc1ris", 1)
    assert b"\xc1" in raw
    (inputs / "news.json").write_bytes(raw)
    message = assert_refused(*run_cli("convert", inputs / "news.json", "-f", "TSV_IOB", "-o", out), work, out)
    assert "news.json: " in message and "UTF-8" in message, message
