"""DATASAUR_SCHEMA, JSON_ADVANCED and the export-all layout, against the
hand-built fixtures in tests/fixtures/datasaur (see build_datasaur_fixtures.py).

Files are compared as parsed JSON with the fixtures, never through
labelport's own readers. Arrays of labels are compared as sets: a Datasaur
file's label order carries no meaning, and labelport writes them by line.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

import labelport
from labelport.errors import InputError

try:  # tests/ may be a package or a plain folder
    from .test_parallel import merged  # the fixture: what each --jobs run's write_parallel returned
except ImportError:
    from test_parallel import merged  # type: ignore[no-redef]  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures" / "datasaur"
NEWSROOM = FIXTURES / "newsroom-p8Xk2Lq9"
TICKETS = FIXTURES / "support-tickets-r7Tt"
UNORDERED = ("spanLabels", "arrowLabels", "rowAnswers", "labels")


def canonical(document: dict) -> dict:
    data = document.get("data", document)
    for key in UNORDERED:
        if key in data:
            data[key] = sorted(data[key], key=lambda e: json.dumps(e, sort_keys=True))
    return document


def read_json(path: Path) -> dict:
    return canonical(json.loads(path.read_text(encoding="utf-8")))


def unzip(archive: Path, into: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(into)
    return into


def fixture_files(root: Path) -> dict[str, dict]:
    return {p.relative_to(root.parent).as_posix(): read_json(p) for p in root.rglob("*.json")}


@pytest.mark.parametrize("project_dir", [NEWSROOM, TICKETS], ids=["token+document", "row"])
def test_export_all_round_trip_gives_the_same_json(tmp_path, project_dir):
    report = labelport.convert(labelport.load(project_dir), "DATASAUR_SCHEMA", tmp_path / "out", zip="export")
    unpacked = unzip(tmp_path / "out" / "export.zip", tmp_path / "unzipped")
    written = fixture_files(unpacked / project_dir.name)
    assert written == fixture_files(project_dir)
    assert not report.losses  # DATASAUR_SCHEMA is lossless


def test_round_trip_from_the_zip_itself(tmp_path):
    """examples/newsroom-export.zip, read as a zip, gives the fixtures back."""
    example = Path(__file__).parent.parent / "examples" / "newsroom-export.zip"
    labelport.convert(labelport.load(example), "DATASAUR_SCHEMA", tmp_path / "out", zip="again")
    unpacked = unzip(tmp_path / "out" / "again.zip", tmp_path / "u")
    assert fixture_files(unpacked / NEWSROOM.name) == fixture_files(NEWSROOM)


def test_reading_keeps_every_labelers_version():
    project = labelport.load(NEWSROOM)
    assert [lb.email for lb in project.labelers] == ["alice.w@example.com", "bob@example.com"]
    assert project.owner.folder == "olga_example_com"  # ROOT files name nobody: the folder is all there is
    docs = {d.name: d for d in project.documents()}
    news = docs["news.txt"]
    assert sorted(news.versions) == ["alice_w_example_com", "bob_example_com"]
    assert sorted(docs["chat.txt"].versions) == ["alice_w_example_com"]  # bob was not assigned chat.txt
    alice_spans = [(s.label, s.line) for line in news.versions["alice_w_example_com"].lines for s in line.spans]
    assert ("ORG", 1) in alice_spans  # alice called Emmanuel Macron an ORG; the review says PER
    assert news.answers == {"0": "politics"}
    assert news.versions["bob_example_com"].answers == {"0": "sport"}


def test_role_labeler_writes_each_labelers_version(tmp_path):
    labelport.convert(labelport.load(NEWSROOM), "DATASAUR_SCHEMA", tmp_path / "out", role="LABELER")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["DOCUMENT-alice_w_example_com", "DOCUMENT-bob_example_com"]
    for rel in ["DOCUMENT-alice_w_example_com/news.txt.json", "DOCUMENT-bob_example_com/news.txt.json"]:
        assert read_json(out / rel) == read_json(NEWSROOM / rel)
    assert not (out / "DOCUMENT-bob_example_com" / "chat.txt.json").exists()


def test_single_file_round_trip(tmp_path):
    source = NEWSROOM / "REVIEW" / "news.txt.json"
    labelport.convert(labelport.load(source), "DATASAUR_SCHEMA", tmp_path / "out")
    assert read_json(tmp_path / "out" / "news.txt.json") == read_json(source)


def test_json_advanced_round_trip_keeps_spans_arrows_and_char_offsets(tmp_path):
    labelport.convert(labelport.load(NEWSROOM), "JSON_ADVANCED", tmp_path / "a")
    labelport.convert(labelport.load(tmp_path / "a"), "JSON_ADVANCED", tmp_path / "b")
    first = read_json(tmp_path / "a" / "news.txt.json")
    assert first == read_json(tmp_path / "b" / "news.txt.json")
    source = json.loads((NEWSROOM / "REVIEW" / "news.txt.json").read_text())["data"]
    spans = {e["id"]: e for e in first["labels"] if e["type"] == "SPAN"}
    for entry in source["spanLabels"]:
        written = spans[entry["id"]]
        for key in ("startCellLine", "startTokenIndex", "startCharIndex", "endCellLine", "endTokenIndex", "endCharIndex"):
            assert written[key] == entry[key], (entry["id"], key)
    assert {e["id"] for e in first["labels"] if e["type"] == "ARROW"} == {"a1", "a2"}


def test_span_entries_spilled_to_disk_give_the_same_file(tmp_path, monkeypatch):
    """A document's span entries wait in memory, then in a temporary file
    past a size: the file written is the same either way."""
    from labelport.formats import _datasaur

    labelport.convert(labelport.load(NEWSROOM), "JSON_ADVANCED", tmp_path / "kept")
    monkeypatch.setattr(_datasaur, "_SPILL_IN_MEMORY", 100)  # a spill every entry or two
    labelport.convert(labelport.load(NEWSROOM), "JSON_ADVANCED", tmp_path / "spilled")
    kept, spilled = (tmp_path / "kept" / "news.txt.json").read_bytes(), (tmp_path / "spilled" / "news.txt.json").read_bytes()
    assert spilled == kept
    labels = json.loads(spilled)["labels"]
    source = json.loads((NEWSROOM / "REVIEW" / "news.txt.json").read_text())["data"]
    assert len(labels) == len(source["spanLabels"]) + len(source["arrowLabels"]) > 2


def test_token_indices_given_as_booleans_are_refused(tmp_path):
    """JSON's true/false are not token indices (Python would read them as 1
    and 0): the file is refused, naming the field (issue 11)."""
    data = {
        "sentences": [{"id": 0, "content": "John Smith", "tokens": ["John", "Smith"], "metadata": []}],
        "labels": [{"id": "s1", "type": "SPAN", "layer": 0, "labelName": "PER", "startCellLine": 0,
                    "startTokenIndex": False, "startCharIndex": 0, "endCellLine": 0, "endTokenIndex": True,
                    "endCharIndex": 4}],
    }
    source = tmp_path / "doc.txt.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=r"\$\.labels\[0\]\.startTokenIndex: expected an integer.*got false"):
        labelport.load(source)


def test_flat_format_reports_what_it_could_not_carry(tmp_path):
    report = labelport.convert(labelport.load(NEWSROOM), "TSV_IOB", tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "labelport-report.json").read_text())
    lost = {what: entry["count"] for what, entry in saved["not_carried"].items()}
    assert lost["overlapping spans"] == 2  # s6 and s10 overlap s5
    assert lost["spans of a second label set"] == 2
    assert lost["unresolved (CONFLICT) entries"] == 1
    assert lost["arrows"] == 2
    assert lost["document answers"] == 2
    assert lost["labelers' versions not written (use --role LABELER or --zip)"] == 3
    assert all(len(entry["examples"]) <= 5 for entry in saved["not_carried"].values())
    assert report.lossy
    with pytest.raises(labelport.LabelportError) as failure:
        labelport.convert(labelport.load(NEWSROOM), "TSV_IOB", tmp_path / "strict", strict=True)
    assert failure.value.exit_code == 1
    assert (tmp_path / "strict" / "news.txt.tsv").exists()  # written, then refused


def test_tsv_iob_of_the_review_version_is_exact(tmp_path):
    labelport.convert(labelport.load(NEWSROOM), "TSV_IOB", tmp_path / "out")
    sentences = (tmp_path / "out" / "news.txt.tsv").read_text(encoding="utf-8").split("\n\n")
    first = [tuple(line.split("\t")) for line in sentences[0].splitlines()]
    assert first == [("Barack", "B-PER"), ("Obama", "I-PER"), ("visited", "O"), ("Paris", "B-LOC"),
                     ("on", "O"), ("Monday", "O"), (".", "O")]
    second = dict(tuple(line.split("\t")) for line in sentences[1].splitlines())
    assert second["Élysée"] == "B-LOC" and second["Palace"] == "I-LOC" and second["🇫🇷"] == "O"


def test_span_outside_its_token_is_refused(tmp_path):
    data = json.loads((NEWSROOM / "REVIEW" / "chat.txt.json").read_text())
    data["data"]["spanLabels"][0]["endCharIndex"] = 40
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(InputError, match="falls outside its token"):
        list(labelport.load(bad).documents())


TWO_DOCUMENTS = """-DOCSTART- -X- -X- O

Alice\tB-person
said\tO

-DOCSTART- -X- -X- O

Paris\tB-location
met\tO
Bob\tB-person
"""


def test_labels_the_first_file_does_not_list_survive_a_folder(tmp_path):
    """A project read from a folder takes its label sets from the first file;
    labels only later files use must still resolve in what is written."""
    source = tmp_path / "two.conll"
    source.write_text(TWO_DOCUMENTS, encoding="utf-8")
    labelport.convert(labelport.load(source), "DATASAUR_SCHEMA", tmp_path / "schema")
    labelport.convert(labelport.load(tmp_path / "schema"), "JSON_ADVANCED", tmp_path / "advanced")
    second = json.loads((tmp_path / "advanced" / "two.conll#2.json").read_text(encoding="utf-8"))
    items = {(ls["index"], item["id"]): item["labelName"] for ls in second["labelSets"] for item in ls["labelItems"]}
    named = sorted(items[(label["layer"], label["labelSetItemId"])] for label in second["labels"])
    assert named == ["location", "person"]
    report = labelport.convert(labelport.load(tmp_path / "schema"), "TSV_IOB", tmp_path / "tsv")
    assert report.counts["spans"] == 3 and not report.losses


def test_a_file_with_unknown_keys_does_not_steer_another_threads_decoding(monkeypatch):
    """Whether the last file had unknown keys is a speed hint for the next
    file of the same read: a read in another thread (the service's) starts
    afresh, and decodes a file without any strictly."""
    import threading

    from labelport.datasaur import types

    clean = (NEWSROOM / "REVIEW" / "chat.txt.json").read_bytes()
    document = json.loads(clean)
    document["data"]["notModelled"] = 1
    with_extras = json.dumps(document).encode()
    assert types.decode_datasaur(with_extras, "extras.json", types.DATASAUR_SCHEMA, False).extra == {"notModelled": 1}

    slow = []
    keeping_extras = types._decode_keeping_extras
    monkeypatch.setattr(types, "_decode_keeping_extras", lambda *a: slow.append(a[1]) or keeping_extras(*a))
    decoded = []
    other = threading.Thread(
        target=lambda: decoded.append(types.decode_datasaur(clean, "clean.json", types.DATASAUR_SCHEMA, False)))
    other.start()
    other.join()
    assert decoded[0].extra == {} and slow == []
    # in this thread the hint holds: the next file goes straight to the path that keeps unknown keys
    types.decode_datasaur(clean, "next.json", types.DATASAUR_SCHEMA, False)
    assert slow == ["next.json"]


def test_the_labelers_of_an_export_are_found_without_decoding_their_files_whole(monkeypatch):
    """Who a DOCUMENT- folder belongs to is read from its first file's
    labelerInfo alone; the files are decoded whole when their documents are."""
    from labelport.datasaur import types

    whole = []
    decode_datasaur = types.decode_datasaur
    import labelport.readers.datasaur_file as datasaur_file  # binds decode_datasaur by name too

    def counted(data, where, *rest):
        whole.append(where)
        return decode_datasaur(data, where, *rest)

    for module in (types, datasaur_file):
        monkeypatch.setattr(module, "decode_datasaur", counted)
    project = labelport.load(NEWSROOM)
    assert not [w for w in whole if "DOCUMENT-" in w or "ROOT-" in w], whole
    assert [(labeler.email, labeler.id, labeler.display_name) for labeler in project.labelers] == [
        ("alice.w@example.com", 11, "Alice W"), ("bob@example.com", 12, "Bob")]


# -- one label set per output (issue 13, item 2) -----------------------------------------

#: Two CoNLL files, each with a label the other lacks: a project that declares no label set.
DISJOINT = {"a.conll": "Alice\tB-person\nsaid\tO\n", "b.conll": "Paris\tB-location\nslept\tO\n"}


def label_files(out: Path) -> dict[str, dict]:
    """Every DATASAUR_SCHEMA or JSON_ADVANCED file under ``out``, parsed (the
    former's ``data``), by its path under ``out``."""
    found = {}
    for path in sorted(out.rglob("*.json")):
        if path.name != "labelport-report.json":
            obj = json.loads(path.read_bytes())
            found[path.relative_to(out).as_posix()] = obj.get("data", obj)
    return found


def listed_labels(data: dict) -> dict[int, list[str]]:
    return {ls["index"]: [item["labelName"] for item in ls["labelItems"]] for ls in data["labelSets"]}


def assert_labels_resolve(data: dict) -> None:
    """Every span's and arrow's (layer, labelSetItemId) is an item of the
    file's own label sets, and that item bears the entry's label."""
    items = {(ls["index"], item["id"]): item["labelName"] for ls in data["labelSets"] for item in ls["labelItems"]}
    entries = data.get("labels", []) + data.get("spanLabels", []) + data.get("arrowLabels", [])
    for entry in entries:
        assert items[(entry["layer"], entry["labelSetItemId"])] == entry["labelName"], entry


@pytest.mark.parametrize("fmt", ["DATASAUR_SCHEMA", "JSON_ADVANCED"])
def test_every_file_of_a_folder_lists_every_label_of_the_project(tmp_path, merged, fmt):
    """A folder of two CoNLL files with disjoint labels: both files list both
    labels (the sorted labels the project uses, as none is declared), each
    resolves its own spans; written by two processes, the same bytes."""
    source = tmp_path / "in"
    source.mkdir()
    for name, text in DISJOINT.items():
        (source / name).write_text(text, encoding="utf-8")
    labelport.convert(labelport.load(source), fmt, tmp_path / "one")
    labelport.convert(labelport.load(source), fmt, tmp_path / "two", jobs=2)
    assert merged == [True]  # the files were written by two forked workers
    files = label_files(tmp_path / "one")
    assert sorted(files) == ["a.conll.json", "b.conll.json"]
    for data in files.values():
        assert listed_labels(data) == {0: ["location", "person"]}
        assert_labels_resolve(data)
    assert {len(data.get("labels", data.get("spanLabels"))) for data in files.values()} == {1}
    one = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*") if p.is_file()}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in (tmp_path / "two").rglob("*") if p.is_file()}
    assert two == one


@pytest.mark.parametrize("fmt", ["DATASAUR_SCHEMA", "JSON_ADVANCED"])
def test_a_split_project_with_arrows_lists_its_declared_label_sets_in_every_file(tmp_path, fmt):
    """The newsroom export declares its label sets, arrows' included: every
    split's files list them as declared, and every span and arrow resolves."""
    declared = listed_labels(read_json(NEWSROOM / "REVIEW" / "news.txt.json")["data"])
    labelport.convert(labelport.load(NEWSROOM), fmt, tmp_path / "out", split={"train": 0.5, "test": 0.5}, seed=1)
    files = label_files(tmp_path / "out")
    assert {path.split("/")[0] for path in files} == {"train", "test"}
    for data in files.values():
        assert listed_labels(data) == declared
        assert_labels_resolve(data)
    assert any(data.get("arrowLabels") or [e for e in data.get("labels", []) if e["type"] == "ARROW"]
               for data in files.values())


#: sha256 of examples/wnut17-sample.conll written whole, one file, as before
#: the project's label sets were made in a first pass: that case reads once
#: and keeps its labels in the order the file first uses them.
WHOLE_SAMPLE = {
    "DATASAUR_SCHEMA": "e8b1ca51d1f0bad51e251bcf7962e00f4e16b59fcd7e1ac772c2c766f59694e4",
    "JSON_ADVANCED": "d531200c0458cf620bd22fbd10ec32829e7099d68797587450c2a5765973a6cd",
}


@pytest.mark.parametrize("fmt", sorted(WHOLE_SAMPLE))
def test_one_document_written_whole_keeps_its_bytes_and_label_order(tmp_path, fmt):
    sample = Path(__file__).parent.parent / "examples" / "wnut17-sample.conll"
    labelport.convert(labelport.load(sample), fmt, tmp_path / "out")
    written = (tmp_path / "out" / "wnut17-sample.conll.json").read_bytes()
    assert hashlib.sha256(written).hexdigest() == WHOLE_SAMPLE[fmt]
    first_use = []
    for line in sample.read_text(encoding="utf-8").splitlines():
        tag = line.rsplit("\t", 1)[-1]
        if tag.startswith("B-") and tag[2:] not in first_use:
            first_use.append(tag[2:])
    obj = json.loads(written)
    assert listed_labels(obj.get("data", obj)) == {0: first_use}
