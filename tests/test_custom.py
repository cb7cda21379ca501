"""CUSTOM (file transformers) and the converters in converters/, through the
command line.

Outputs are checked independently of labelport: the sources (CoNLL, TSV,
the Datasaur fixture JSON) are parsed here and in tests/sources.py, IOB is
decoded and splits are recomputed from the README's split rule there, and what the
transformers wrote is read with json (and spaCy's own DocBin). Nothing from
labelport is imported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

try:  # tests/ may be a package or a plain folder
    from .conftest import FIXTURES, WNUT17_FIXTURES, run_cli
except ImportError:
    from conftest import FIXTURES, WNUT17_FIXTURES, run_cli  # type: ignore[no-redef]
from sources import entities, read_conll, read_jsonl, report_of, sms_pairs, split_of

WNUT_HEAD = WNUT17_FIXTURES / "wnut17train.head.conll"
WNUT_SLICES = sorted(p for p in WNUT17_FIXTURES.iterdir() if p.suffix != ".md")
SMS = FIXTURES / "tables" / "sms_slice.tsv"
SMS_ARGS = ("--from", "TSV", "--columns", "label,text")
TICKETS = FIXTURES / "datasaur" / "support-tickets-r7Tt"
NEWSROOM = FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9"
CONVERTERS = ("gemini_tuning", "openai_chat", "spacy_docbin")

# -- independent readers (the shared ones are in sources.py) ------------------------


def gemini_turns(obj: dict) -> tuple[str, str, str]:
    """(system, user, model) of one Gemini tuning line, its shape checked."""
    assert set(obj) == {"systemInstruction", "contents"}
    system = obj["systemInstruction"]
    assert system["role"] == "system" and len(system["parts"]) == 1
    contents = obj["contents"]
    assert [turn["role"] for turn in contents] == ["user", "model"]
    assert all(len(turn["parts"]) == 1 and set(turn["parts"][0]) == {"text"} for turn in contents)
    return system["parts"][0]["text"], contents[0]["parts"][0]["text"], contents[1]["parts"][0]["text"]


def openai_turns(obj: dict) -> tuple[str, str, str]:
    assert set(obj) == {"messages"}
    messages = obj["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in messages)
    return messages[0]["content"], messages[1]["content"], messages[2]["content"]


TURNS = {"gemini_tuning": gemini_turns, "openai_chat": openai_turns}


def convert(*args: object, cwd: Path | None = None) -> None:
    code, _, err = run_cli("convert", *args, cwd=cwd)
    assert code == 0, err


def write_transformer(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path


UPPER = '''
EXTENSION = ".txt"


def transform(document):
    return "".join(cell["content"].upper() + "\\n" for cell in document["cells"])
'''

# -- per-document transformers ------------------------------------------------------


def test_per_document_transformer(tmp_path: Path) -> None:
    upper = write_transformer(tmp_path, "upper.py", UPPER)
    out = tmp_path / "out"
    convert(WNUT_HEAD, "-f", "CUSTOM", "--transformer", upper, "-o", out)
    assert sorted(p.name for p in out.iterdir()) == ["labelport-report.json", "wnut17train.head.conll.txt"]
    expected = "".join(s.text.upper() + "\n" for s in read_conll(WNUT_HEAD))
    assert (out / "wnut17train.head.conll.txt").read_bytes().decode("utf-8") == expected
    report = report_of(out)
    assert report["format"] == "CUSTOM" and "wnut17train.head.conll.txt" in report["files"]


def test_per_document_transformer_with_split(tmp_path: Path) -> None:
    upper = write_transformer(tmp_path, "upper.py", UPPER)
    out = tmp_path / "out"
    shares = [("train", 0.5), ("test", 0.5)]
    convert(WNUT_HEAD, "-f", "CUSTOM", "--transformer", upper, "--split", "train=0.5,test=0.5", "--seed", "7", "-o", out)
    expected: dict[str, list[str]] = {"train": [], "test": []}
    for index, sentence in enumerate(read_conll(WNUT_HEAD)):
        expected[split_of(7, WNUT_HEAD.name, index, shares)].append(sentence.text.upper() + "\n")
    assert expected["train"] and expected["test"]
    for split, lines in expected.items():
        assert (out / split / "wnut17train.head.conll.txt").read_bytes().decode("utf-8") == "".join(lines)
    assert sorted(p.name for p in out.iterdir()) == ["labelport-report.json", "test", "train"]


def test_transformer_gets_exactly_the_datasaur_schema_data(tmp_path: Path) -> None:
    identity = write_transformer(
        tmp_path, "identity.py", 'import json\nEXTENSION = ".json"\n\ndef transform(document):\n    return json.dumps(document)\n'
    )
    for source, extra in ((NEWSROOM, ()), (TICKETS, ()), (SMS, SMS_ARGS)):
        schema, custom = tmp_path / f"schema-{source.stem}", tmp_path / f"custom-{source.stem}"
        convert(source, *extra, "-f", "DATASAUR_SCHEMA", "-o", schema)
        convert(source, *extra, "-f", "CUSTOM", "--transformer", identity, "-o", custom)
        files = sorted(p.name for p in schema.glob("*.json") if p.name != "labelport-report.json")
        assert files and files == sorted(p.name for p in custom.glob("*.json") if p.name != "labelport-report.json")
        for name in files:
            written = json.loads((schema / name).read_bytes())["data"]
            assert json.loads((custom / name).read_bytes()) == written


def test_transformer_found_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    write_transformer(folder, "shout.py", UPPER)
    monkeypatch.setenv("LABELPORT_CONVERTERS", str(folder))
    convert(WNUT_HEAD, "-f", "CUSTOM", "--transformer", "shout", "-o", tmp_path / "out")
    assert (tmp_path / "out" / "wnut17train.head.conll.txt").exists()
    # ./converters/ of the working folder
    monkeypatch.delenv("LABELPORT_CONVERTERS")
    (tmp_path / "converters").mkdir()
    write_transformer(tmp_path / "converters", "loud.py", UPPER.replace('".txt"', '".up"'))
    convert(WNUT_HEAD, "-f", "CUSTOM", "--transformer", "loud", "-o", "out2", cwd=tmp_path)
    assert (tmp_path / "out2" / "wnut17train.head.conll.up").exists()


# -- transform_project and its project ------------------------------------------------

COUNT_ROWS = """
import json


def transform_project(documents):
    return {"rows.json": json.dumps(sum(len(d.get("rows") or ()) for d in documents))}
"""

# asks for the project's labels before reading its documents: labelport reads the rest ahead
LABELS_FIRST = """
import json


def transform_project(documents, project):
    context = dict(project)
    rows = [row["cells"][d["columns"].index("text")] for d in documents for row in d["rows"]]
    name = (project["split"] or "all") + ".json"
    return {name: json.dumps({"project": context, "rows": rows})}
"""

ANY_KEYWORDS = """
import json


def transform_project(documents, **context):
    list(documents)
    return {"context.json": json.dumps(dict(context["project"]))}
"""


def test_a_transformer_of_one_parameter_runs_as_before(tmp_path: Path) -> None:
    old = write_transformer(tmp_path, "count_rows.py", COUNT_ROWS)
    out = tmp_path / "out"
    shares = [("train", 0.7), ("test", 0.3)]
    convert(SMS, *SMS_ARGS, "-f", "CUSTOM", "--transformer", old,
            "--split", "train=0.7,test=0.3", "--seed", "2", "-o", out)
    for split, _ in shares:
        expected = sum(split_of(2, SMS.name, index, shares) == split for index in range(len(sms_pairs(SMS))))
        assert json.loads((out / split / "rows.json").read_bytes()) == expected


def test_project_names_the_split_and_the_whole_project_labels(tmp_path: Path) -> None:
    """Asked for first, the labels are the project's (SMS slice: ham and spam,
    no options declared), and each split still gets exactly its rows, in order."""
    path = write_transformer(tmp_path, "labels_first.py", LABELS_FIRST)
    out = tmp_path / "out"
    shares = [("train", 0.8), ("validation", 0.1), ("test", 0.1)]
    convert(SMS, *SMS_ARGS, "-f", "CUSTOM", "--transformer", path,
            "--split", "train=0.8,validation=0.1,test=0.1", "--seed", "4", "-o", out)
    expected: dict[str, list[str]] = {name: [] for name, _ in shares}
    for index, (_, text) in enumerate(sms_pairs(SMS)):
        expected[split_of(4, SMS.name, index, shares)].append(text)
    for split, texts in expected.items():
        written = json.loads((out / split / f"{split}.json").read_bytes())
        assert written["rows"] == texts
        assert written["project"] == {
            "split": split,
            "splits": ["train", "validation", "test"],
            "entityTypes": [],
            "classes": ["ham", "spam"],
            "multiLabel": False,
            "relationTypes": [],
        }
    # without --split: no split, and the same labels
    convert(SMS, *SMS_ARGS, "-f", "CUSTOM", "--transformer", path, "-o", tmp_path / "whole")
    written = json.loads((tmp_path / "whole" / "all.json").read_bytes())
    assert written["rows"] == [text for _, text in sms_pairs(SMS)]
    assert written["project"]["split"] is None and written["project"]["splits"] == []
    assert written["project"]["classes"] == ["ham", "spam"]


def test_project_is_given_to_a_transformer_taking_any_keyword(tmp_path: Path) -> None:
    path = write_transformer(tmp_path, "any_keywords.py", ANY_KEYWORDS)
    out = tmp_path / "out"
    convert(WNUT_HEAD, "-f", "CUSTOM", "--transformer", path, "--split", "train=0.5,test=0.5", "-o", out)
    types = sorted({e.label for sentence in read_conll(WNUT_HEAD) for e in entities(sentence)})
    for split in ("train", "test"):
        context = json.loads((out / split / "context.json").read_bytes())
        assert context["split"] == split and context["entityTypes"] == types and context["classes"] == []


@pytest.mark.parametrize("converter", ["gemini_tuning", "openai_chat"])
def test_every_split_is_given_the_same_instruction(tmp_path: Path, converter: str) -> None:
    """WNUT head: four entity types name one entity each, so some split lacks them;
    its instruction still lists every type of the project."""
    out = tmp_path / "out"
    convert(WNUT_HEAD, "-f", "CUSTOM", "--transformer", converter,
            "--split", "train=0.5,test=0.5", "--seed", "7", "-o", out)
    types = sorted({e.label for sentence in read_conll(WNUT_HEAD) for e in entities(sentence)})
    answered: dict[str, set[str]] = {}
    for split in ("train", "test"):
        turns = [TURNS[converter](obj) for obj in read_jsonl(out / split / f"{converter}.jsonl")]
        instruction = (
            f"Extract the entities of these types from the text: {', '.join(types)}. "
            'Answer with a JSON array of {"text", "type"} objects in the order they occur; [] when there are none.'
        )
        assert {system for system, _, _ in turns} == {instruction}
        answered[split] = {entity["type"] for _, _, answer in turns for entity in json.loads(answer)}
    assert answered["train"] != answered["test"]  # the case at issue: a type is in one split only


# -- gemini_tuning and openai_chat ---------------------------------------------------


@pytest.mark.parametrize("converter", ["gemini_tuning", "openai_chat"])
def test_classification(tmp_path: Path, converter: str) -> None:
    out = tmp_path / "out"
    convert(SMS, *SMS_ARGS, "-f", "CUSTOM", "--transformer", converter, "-o", out)
    lines = read_jsonl(out / f"{converter}.jsonl")
    rows = sms_pairs(SMS)
    assert len(lines) == len(rows) == 200
    for obj, (label, text) in zip(lines, rows):
        system, user, answer = TURNS[converter](obj)
        assert user == text
        assert answer == label
        assert "ham" in system and "spam" in system
    assert sorted(p.name for p in out.iterdir()) == sorted(["labelport-report.json", f"{converter}.jsonl"])


def test_classification_with_split(tmp_path: Path) -> None:
    out = tmp_path / "out"
    shares = [("train", 0.8), ("validation", 0.2)]
    convert(SMS, *SMS_ARGS, "-f", "CUSTOM", "--transformer", "gemini_tuning",
            "--split", "train=0.8,validation=0.2", "--seed", "5", "-o", out)
    expected: dict[str, list[tuple[str, str]]] = {"train": [], "validation": []}
    for index, (label, text) in enumerate(sms_pairs(SMS)):
        expected[split_of(5, SMS.name, index, shares)].append((text, label))
    for split, examples in expected.items():
        got = [gemini_turns(obj)[1:] for obj in read_jsonl(out / split / "gemini_tuning.jsonl")]
        assert got == examples
    report = report_of(out)
    assert set(report["files"]) >= {"train/gemini_tuning.jsonl", "validation/gemini_tuning.jsonl"}


def test_a_split_with_nothing_gets_no_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert(SMS, *SMS_ARGS, "-f", "CUSTOM", "--transformer", "openai_chat", "--split", "train=1,test=0", "-o", out)
    assert sorted(p.name for p in out.iterdir()) == ["labelport-report.json", "train"]
    assert len(read_jsonl(out / "train" / "openai_chat.jsonl")) == 200


@pytest.mark.parametrize("converter", ["gemini_tuning", "openai_chat"])
def test_classification_of_a_datasaur_row_project(tmp_path: Path, converter: str) -> None:
    """The first question's answers; CONFLICT answers and unanswered rows left out."""
    data = json.loads((TICKETS / "REVIEW" / "tickets.csv.json").read_bytes())["data"]
    question = data["questions"][0]
    column = data["columns"].index("text")
    answers: dict[int, str] = {}
    for entry in data["rowAnswers"]:
        if entry["labeledBy"] != "CONFLICT":
            answers.setdefault(entry["rowIndex"], entry["answers"][str(question["id"])])
    expected = [(row["cells"][column], answers[row["index"]]) for row in data["rows"] if row["index"] in answers]
    assert len(expected) == len(data["rows"]) - 1  # one row is an unresolved conflict
    out = tmp_path / "out"
    convert(TICKETS, "-f", "CUSTOM", "--transformer", converter, "-o", out)
    got = [TURNS[converter](obj) for obj in read_jsonl(out / f"{converter}.jsonl")]
    assert [(user, answer) for _, user, answer in got] == expected
    options = [o["label"] for o in question["config"]["options"]]
    assert all(system == f"Classify the text into one of: {', '.join(options)}." for system, _, _ in got)


@pytest.mark.parametrize("converter", ["gemini_tuning", "openai_chat"])
@pytest.mark.parametrize("source", WNUT_SLICES, ids=lambda p: p.name)
def test_extraction(tmp_path: Path, converter: str, source: Path) -> None:
    out = tmp_path / "out"
    convert(source, "-f", "CUSTOM", "--transformer", converter, "-o", out)
    lines = read_jsonl(out / f"{converter}.jsonl")
    sentences = read_conll(source)
    assert len(lines) == len(sentences)
    types = set()
    for obj, sentence in zip(lines, sentences):
        system, user, answer = TURNS[converter](obj)
        assert user == sentence.text
        model = json.loads(answer)
        assert isinstance(model, list)
        assert model == [{"text": e.text, "type": e.label} for e in entities(sentence)]
        types.update(e["type"] for e in model)
        assert system.startswith("Extract the entities")
    assert types
    for label in types:
        assert label in system


# -- spacy_docbin -----------------------------------------------------------------------


def test_spacy_docbin_entities(tmp_path: Path) -> None:
    spacy = pytest.importorskip("spacy", reason="spaCy is not installed: pip install 'labelport[spacy]'")
    from spacy.tokens import DocBin

    out = tmp_path / "out"
    convert(WNUT_HEAD, "-f", "CUSTOM", "--transformer", "spacy_docbin", "-o", out)
    docs = list(DocBin().from_disk(out / "train.spacy").get_docs(spacy.blank("xx").vocab))
    sentences = read_conll(WNUT_HEAD)
    assert len(docs) == len(sentences)
    for doc, sentence in zip(docs, sentences):
        assert [t.text for t in doc] == list(sentence.tokens)
        assert doc.text == sentence.text
        assert [(e.start, e.end - 1, e.label_) for e in doc.ents] == [
            (entity.token_start, entity.token_end, entity.label) for entity in entities(sentence)
        ]
    assert any(doc.ents for doc in docs)


def test_spacy_docbin_names_each_file_for_its_split(tmp_path: Path) -> None:
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    out = tmp_path / "out"
    convert(WNUT_HEAD, "-f", "CUSTOM", "--transformer", "spacy_docbin",
            "--split", "train=0.5,dev=0.5", "--seed", "7", "-o", out)
    shares = [("train", 0.5), ("dev", 0.5)]
    expected: dict[str, list[str]] = {"train": [], "dev": []}
    for index, sentence in enumerate(read_conll(WNUT_HEAD)):
        expected[split_of(7, WNUT_HEAD.name, index, shares)].append(sentence.text)
    assert sorted(p.name for p in out.iterdir()) == ["dev", "labelport-report.json", "train"]
    for split, texts in expected.items():
        assert [p.name for p in (out / split).iterdir()] == [f"{split}.spacy"]
        docs = DocBin().from_disk(out / split / f"{split}.spacy").get_docs(spacy.blank("xx").vocab)
        assert [" ".join(token.text for token in doc) for doc in docs] == texts


def test_spacy_docbin_cats(tmp_path: Path) -> None:
    spacy = pytest.importorskip("spacy", reason="spaCy is not installed: pip install 'labelport[spacy]'")
    from spacy.tokens import DocBin

    out = tmp_path / "out"
    convert(SMS, *SMS_ARGS, "-f", "CUSTOM", "--transformer", "spacy_docbin", "-o", out)
    docs = list(DocBin().from_disk(out / "train.spacy").get_docs(spacy.blank("xx").vocab))
    rows = sms_pairs(SMS)
    assert len(docs) == len(rows)
    for doc, (label, text) in zip(docs, rows):
        assert doc.text == text
        assert doc.cats == {"ham": float(label == "ham"), "spam": float(label == "spam")}


# -- errors -----------------------------------------------------------------------------

BROKEN = {
    "raises.py": ("def transform(document):\n    raise ValueError('cannot cope')\n", "ValueError: cannot cope"),
    "number.py": ("def transform(document):\n    return 42\n", "returned int, expected str"),
    "escape.py": ("def transform_project(documents):\n    list(documents)\n    return {'../x': b'x'}\n", "'../x'"),
    "absolute.py": ("def transform_project(documents):\n    list(documents)\n    return {'/tmp/x': b'x'}\n", "'/tmp/x'"),
    "wrong.py": ("def transform_project(documents):\n    list(documents)\n    return ['x']\n", "returned list"),
    "midway.py": ("def transform_project(documents):\n    for d in documents:\n        raise KeyError('k')\n", "KeyError"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_failing_transformer_is_an_error(tmp_path: Path, name: str) -> None:
    source, what = BROKEN[name]
    path = write_transformer(tmp_path, name, source)
    out = tmp_path / "out"
    code, _, err = run_cli("convert", WNUT_HEAD, "-f", "CUSTOM", "--transformer", path, "-o", out)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("labelport: error: ")
    assert f"transformer '{path}'" in lines[0]
    assert "document 'wnut17train.head.conll'" in lines[0]
    assert what in lines[0]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing staged is left


def test_unknown_transformer_lists_the_names(tmp_path: Path) -> None:
    code, _, err = run_cli("convert", WNUT_HEAD, "-f", "CUSTOM", "--transformer", "no_such_converter", "-o", tmp_path / "out")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labelport: error: ")
    assert "no_such_converter" in lines[0]
    for name in CONVERTERS:
        assert name in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, what",
    [
        ((), "CUSTOM needs --transformer"),
        (("--transformer", "missing.py"), "no such file"),
        (("--transformer", "NEITHER"), "defines neither"),
        (("--transformer", "SYNTAX"), "SyntaxError"),
    ],
)
def test_transformer_usage_errors(tmp_path: Path, args: tuple[str, ...], what: str) -> None:
    neither = write_transformer(tmp_path, "neither.py", "EXTENSION = '.txt'\n")
    syntax = write_transformer(tmp_path, "syntax.py", "def transform(document)\n    return ''\n")
    args = tuple({"NEITHER": str(neither), "SYNTAX": str(syntax)}.get(a, a) for a in args)
    code, _, err = run_cli("convert", WNUT_HEAD, "-f", "CUSTOM", *args, "-o", tmp_path / "out")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labelport: error: ") and what in lines[0], err
    assert not (tmp_path / "out").exists()
