"""Token formats (TSV_IOB, TSV_NON_IOB, CONLL_2003, PLAIN, JSON, JSON_ADVANCED)
against WNUT-17, through the command line.

Everything is checked independently of labelport's code: the source CoNLL is
parsed by tests/sources.py (a line that is empty or only white space ends a
sentence; ``token<TAB>tag``; IOB decoded there), and the written files are
parsed with str/json. Nothing from labelport is imported.

Tests marked by a full-set fixture (wnut17_train, wnut17_dev) skip when
../shared/datasets is absent; the same checks run on the slices in
tests/fixtures/wnut17 everywhere.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import WNUT17_DEV, WNUT17_FIXTURES, WNUT17_TEST, WNUT17_TRAIN, dataset_params, not_available, run_cli
from sources import (
    REPORT,
    Sentence,
    entities,
    files_under,
    iob2_tags,
    read_conll,
    read_token_lines,
    report_of,
    split_of,
)

# -- independent readers (the shared ones are in sources.py) ------------------------


def io_tags(sentence: Sentence) -> tuple[str, ...]:
    tags = ["O"] * len(sentence.tokens)
    for e in entities(sentence):
        for i in range(e.token_start, e.token_end + 1):
            tags[i] = e.label
    return tuple(tags)


def only_file(folder: Path, name: str) -> Path:
    """OUT holds exactly ``name`` and the report."""
    found = sorted(p.name for p in folder.iterdir())
    assert found == sorted([name, REPORT]), found
    return folder / name


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- sources -------------------------------------------------------------------------

SOURCES = {
    "train-head": WNUT17_FIXTURES / "wnut17train.head.conll",
    "dev-slice": WNUT17_FIXTURES / "emerging.dev.slice.conll",
    "test-slice": WNUT17_FIXTURES / "emerging.test.slice.annotated",
    "train": WNUT17_TRAIN,
    "dev": WNUT17_DEV,
    "test": WNUT17_TEST,
}
FULL = {"train", "dev", "test"}


def source_param(*names: str):
    return dataset_params(SOURCES, *names, full=FULL)


_parsed: dict[Path, list[Sentence]] = {}


def source(name: str) -> tuple[Path, list[Sentence]]:
    path = SOURCES[name]
    if path not in _parsed:
        _parsed[path] = read_conll(path)
    return path, _parsed[path]


@pytest.fixture(scope="module")
def convert(tmp_path_factory):
    """convert(input, format, *options) -> OUT, run once per arguments."""
    done: dict[tuple, Path] = {}

    def run(input_path: Path, fmt: str, *options: str) -> Path:
        key = (str(input_path), fmt, options)
        if key not in done:
            out = tmp_path_factory.mktemp(fmt.lower()) / "OUT"
            code, stdout, stderr = run_cli("convert", input_path, "-f", fmt, "-o", out, *options)
            assert code == 0, stderr
            assert "Traceback" not in stderr
            done[key] = out
        return done[key]

    return run


def test_sources_are_what_the_datasets_readme_says():
    """Guards the independent reader: the sentence counts of the README."""
    for name, count in (("train", 3394), ("dev", 1009), ("test", 1287)):
        if SOURCES[name].exists():
            assert len(source(name)[1]) == count, name
    # the slices hold what their README promises
    _, dev = source("dev-slice")
    text = "\n".join(s.text for s in dev)
    assert "\u200b" in text and "\ufeff" in text
    assert any(ord(c) > 0xFFFF for c in text)
    assert "\t\n" in SOURCES["train-head"].read_text("utf-8")  # lone-tab sentence breaks


# -- 1. TSV_IOB reproduces every token and tag ----------------------------------------


@pytest.mark.parametrize("name", source_param("train", "train-head", "dev-slice", "test-slice", "dev"))
def test_tsv_iob_reproduces_every_token_and_tag(convert, name):
    path, sentences = source(name)
    out = convert(path, "TSV_IOB")
    written = read_token_lines(only_file(out, path.name + ".tsv"), "\t", 2)
    assert len(written) == len(sentences)
    for i, (got, want) in enumerate(zip(written, sentences)):
        assert got.tokens == want.tokens, f"sentence {i}"
        assert got.tags == want.tags, f"sentence {i}"  # WNUT-17 is clean IOB2
    if name == "train":
        assert len(written) == 3394


@pytest.mark.parametrize("via", ["DATASAUR_SCHEMA", "JSON_ADVANCED"])
@pytest.mark.parametrize("name", source_param("train", "dev-slice"))
def test_tsv_iob_through_an_intermediate_format(convert, name, via):
    """CoNLL -> VIA (a folder) -> TSV_IOB gives the source back."""
    path, sentences = source(name)
    middle = convert(path, via)
    only_file(middle, path.name + ".json")
    out = convert(middle, "TSV_IOB")
    written = read_token_lines(only_file(out, path.name + ".tsv"), "\t", 2)
    assert [s.tokens for s in written] == [s.tokens for s in sentences]
    assert [s.tags for s in written] == [s.tags for s in sentences]


# -- 2. JSON and PLAIN: offsets in code points over the exact line text --------------


def json_lines(out: Path, path: Path) -> list[dict]:
    data = json.loads(only_file(out, path.name + ".json").read_bytes().decode("utf-8"))
    assert isinstance(data, list)
    return data


@pytest.mark.parametrize("name", source_param("dev", "dev-slice", "test-slice"))
def test_json_spans_slice_the_line_text(convert, name):
    path, sentences = source(name)
    lines = json_lines(convert(path, "JSON"), path)
    assert len(lines) == len(sentences)
    after_astral = 0
    for i, (line, sentence) in enumerate(zip(lines, sentences)):
        assert line["tokens"] == list(sentence.tokens), f"line {i}"
        assert line["text"] == sentence.text, f"line {i}"
        text = line["text"]
        for span in line["spans"]:
            assert span["text"] == text[span["start"] : span["end"]], f"line {i}: {span}"
            if any(ord(c) > 0xFFFF for c in text[: span["start"]]):
                after_astral += 1
        got = sorted((s["start"], s["end"], s["label"], s["text"]) for s in line["spans"])
        want = sorted((e.start, e.end, e.label, e.text) for e in entities(sentence))
        assert got == want, f"line {i}"
    assert after_astral, "no span after a character outside the BMP: the check would prove nothing"


@pytest.mark.parametrize("name", source_param("dev", "dev-slice", "test-slice"))
def test_plain_lines_are_the_json_texts(convert, name):
    path, sentences = source(name)
    texts = [line["text"] for line in json_lines(convert(path, "JSON"), path)]
    data = only_file(convert(path, "PLAIN"), path.name + ".txt").read_bytes().decode("utf-8")
    assert data.endswith("\n")
    plain = data[:-1].split("\n")  # "\n" only: str.splitlines would also split on U+2028, U+0085, ...
    assert plain == texts
    assert plain == [s.text for s in sentences]


def test_plain_and_json_keep_unicode_line_separators_inside_their_line(tmp_path):
    """U+2028, U+2029, U+0085, VT and FF inside tokens are text, not line breaks."""
    source_file = tmp_path / "separators.conll"
    source_file.write_text(
        "a\u2028b\tB-x\nc\tI-x\n\nd\u0085e\tO\nf\u2029\tO\n\ng\x0bh\x0ci\tB-y\n\n", encoding="utf-8", newline=""
    )
    sentences = read_conll(source_file)
    assert len(sentences) == 3
    texts = [s.text for s in sentences]
    for fmt, ext in (("PLAIN", ".txt"), ("JSON", ".json")):
        out = tmp_path / fmt
        code, _, stderr = run_cli("convert", source_file, "-f", fmt, "-o", out)
        assert code == 0, stderr
        data = only_file(out, source_file.name + ext).read_bytes().decode("utf-8")
        if fmt == "PLAIN":
            assert data == "".join(t + "\n" for t in texts)
        else:
            lines = json.loads(data)
            assert [line["text"] for line in lines] == texts
            spans = [(line["id"], sp["start"], sp["end"], sp["label"], sp["text"]) for line in lines for sp in line["spans"]]
            assert spans == [(0, 0, 5, "x", "a\u2028b c"), (2, 0, 5, "y", "g\x0bh\x0ci")]


def test_dev_has_the_hard_characters(wnut17_dev):
    """The full dev set really holds what test 2 is about."""
    text = "\n".join(s.text for s in source("dev")[1])
    assert "\u200b" in text and "\ufeff" in text
    assert sum(ord(c) > 0xFFFF for c in text) > 100
    assert any(c in text for c in "éáñü")


# -- 3. CONLL_2003 and TSV_NON_IOB ------------------------------------------------------

DOCSTART_HEADER = ["-DOCSTART- -X- -X- O"]


@pytest.mark.parametrize("name", source_param("dev", "train", "dev-slice", "test-slice"))
def test_conll_2003(convert, name):
    path, sentences = source(name)
    # the name already ends in .conll for most sources: no second extension
    file_name = path.name if path.name.endswith(".conll") else path.name + ".conll"
    out_file = only_file(convert(path, "CONLL_2003"), file_name)
    first_lines = out_file.read_bytes().decode("utf-8").split("\n")[:3]
    assert first_lines[0] == "-DOCSTART- -X- -X- O"
    assert first_lines[1] == ""
    written = read_token_lines(out_file, " ", 4, header=DOCSTART_HEADER)
    assert [s.tokens for s in written] == [s.tokens for s in sentences]
    assert [s.tags for s in written] == [iob2_tags(s) for s in sentences]
    assert [s.tags for s in written] == [s.tags for s in sentences]


@pytest.mark.parametrize("name", source_param("dev", "dev-slice", "train-head"))
def test_tsv_non_iob(convert, name):
    path, sentences = source(name)
    written = read_token_lines(only_file(convert(path, "TSV_NON_IOB"), path.name + ".tsv"), "\t", 2)
    assert [s.tokens for s in written] == [s.tokens for s in sentences]
    assert [s.tags for s in written] == [io_tags(s) for s in sentences]
    assert not any(tag.startswith(("B-", "I-")) for s in written for tag in s.tags)


# -- 4. JSON_ADVANCED: character indices inside tokens, end inclusive ----------------


def token_starts(content: str, tokens: list[str]) -> list[int]:
    starts, position = [], 0
    for token in tokens:
        found = content.find(token, position)
        assert found >= 0, (content, token)
        starts.append(found)
        position = found + len(token)
    return starts


def advanced(convert, name: str) -> tuple[dict, list[Sentence]]:
    path, sentences = source(name)
    out = convert(path, "JSON_ADVANCED")
    return json.loads(only_file(out, path.name + ".json").read_bytes().decode("utf-8")), sentences


@pytest.mark.parametrize("name", source_param("dev", "dev-slice", "test-slice"))
def test_json_advanced_char_indices(convert, name):
    data, sentences = advanced(convert, name)
    assert len(data["sentences"]) == len(sentences)
    by_line = {}
    for i, (sentence, source_sentence) in enumerate(zip(data["sentences"], sentences)):
        assert sentence["tokens"] == list(source_sentence.tokens), f"sentence {i}"
        assert sentence["content"] == source_sentence.text, f"sentence {i}"
        by_line[sentence["id"]] = (sentence["content"], token_starts(sentence["content"], sentence["tokens"]), sentence["tokens"])
    got: dict[int, list] = {}
    for label in data["labels"]:
        assert label["type"] == "SPAN"
        assert label["startCellLine"] == label["endCellLine"]
        content, starts, tokens = by_line[label["startCellLine"]]
        assert 0 <= label["startCharIndex"] < len(tokens[label["startTokenIndex"]])
        assert 0 <= label["endCharIndex"] < len(tokens[label["endTokenIndex"]])
        begin = starts[label["startTokenIndex"]] + label["startCharIndex"]
        end = starts[label["endTokenIndex"]] + label["endCharIndex"] + 1
        got.setdefault(label["startCellLine"], []).append((begin, end, content[begin:end]))
    for i, sentence in enumerate(sentences):
        want = sorted((e.start, e.end, e.text) for e in entities(sentence))
        assert sorted(got.get(data["sentences"][i]["id"], [])) == want, f"sentence {i}"


@pytest.mark.parametrize("name", source_param("dev-slice"))
def test_json_advanced_labels_resolve_through_label_sets(convert, name):
    """JSON_ADVANCED: labels name their label through ``labelSetItemId``, an
    item of ``labelSets[].labelItems`` (``labelName`` on a label is extra)."""
    data, sentences = advanced(convert, name)
    items = {}
    for label_set in data["labelSets"]:
        for item in label_set["labelItems"]:
            items[(label_set["index"], item["id"])] = item["labelName"]
    got = sorted(
        (label["startCellLine"], label["startTokenIndex"], label["endTokenIndex"], items.get((label["layer"], label["labelSetItemId"])))
        for label in data["labels"]
    )
    want = sorted(
        (data["sentences"][i]["id"], e.token_start, e.token_end, e.label)
        for i, s in enumerate(sentences)
        for e in entities(s)
    )
    assert got == want, "labels do not resolve to their label names through labelSets / labelSetItemId"


@pytest.mark.parametrize("name", source_param("dev-slice"))
def test_json_advanced_labels_have_unique_ids(convert, name):
    """JSON_ADVANCED: ``labels: [{id, type, ...}]`` (arrows name span ids), so
    each label needs an id of its own, also when the source had none."""
    data, _ = advanced(convert, name)
    ids = [label["id"] for label in data["labels"]]
    assert ids
    assert all(isinstance(i, str) and i for i in ids), f"labels without an id: {ids[:5]}"
    assert len(set(ids)) == len(ids), "label ids repeat"


# -- 5. Splits -------------------------------------------------------------------------

SHARES = [("train", 0.8), ("validation", 0.1), ("test", 0.1)]
SPLIT = ",".join(f"{n}={s}" for n, s in SHARES)
SEED = 7


def split_outputs(out: Path, file_name: str) -> dict[str, list[Sentence]]:
    found = files_under(out)
    assert found == sorted([REPORT] + [f"{n}/{file_name}" for n, _ in SHARES]), found
    return {n: read_token_lines(out / n / file_name, "\t", 2) for n, _ in SHARES}


def check_split(out: Path, path: Path, sentences: list[Sentence]) -> dict[str, list[Sentence]]:
    written = split_outputs(out, path.name + ".tsv")
    assigned = [split_of(SEED, path.name, i, SHARES) for i in range(len(sentences))]
    for name, _ in SHARES:
        want = [s for s, a in zip(sentences, assigned) if a == name]
        got = written[name]
        assert len(got) == len(want), name
        assert got == want, f"{name}: not the sentences the split rule's hash assigns, in source order"
    assert sum(len(v) for v in written.values()) == len(sentences)
    return written


@pytest.fixture(scope="module")
def split_runs(tmp_path_factory):
    if not WNUT17_TRAIN.exists():
        pytest.skip(not_available(WNUT17_TRAIN))
    outs = []
    for _ in range(2):
        out = tmp_path_factory.mktemp("split") / "OUT"
        code, _, stderr = run_cli("convert", WNUT17_TRAIN, "-f", "TSV_IOB", "-o", out, "--split", SPLIT, "--seed", SEED)
        assert code == 0, stderr
        outs.append(out)
    return outs


def test_split_places_each_sentence_by_its_hash(split_runs):
    path, sentences = source("train")
    written = check_split(split_runs[0], path, sentences)
    # every sentence in exactly one split: the multiset union is the source
    union = Counter(s for part in written.values() for s in part)
    assert union == Counter(sentences)
    report = report_of(split_runs[0])
    for name, _ in SHARES:
        assert report["splits"][name]["lines"] == len(written[name])
    assert report["counts"]["lines"] == len(sentences)
    for name, _ in SHARES:
        rel = f"{name}/{path.name}.tsv"
        assert report["files"][rel]["sha256"] == sha256(split_runs[0] / rel), rel
    assert len(report["files"]) == len(SHARES)


def test_split_proportions(split_runs):
    path, sentences = source("train")
    written = split_outputs(split_runs[0], path.name + ".tsv")
    for name, share in SHARES:
        got = len(written[name]) / len(sentences)
        # The brief asked for 1 point; with seed 7, the split rule's own hash puts
        # 78.29 / 10.16 / 11.55 % of these 3,394 sentences in train /
        # validation / test (binomial sd 0.69 and 0.52 points), so a correct
        # writer cannot meet 1 point here; 2 points is ~3 sd. The exact
        # placement is checked above.
        assert abs(got - share) <= 0.02, (name, got)


def test_split_proportions_with_the_default_seed_are_within_one_point(tmp_path):
    """The issue's figure: with the default seed the shares are within 1 point."""
    if not WNUT17_TRAIN.exists():
        pytest.skip(not_available(WNUT17_TRAIN))
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", WNUT17_TRAIN, "-f", "TSV_IOB", "-o", out, "--split", SPLIT)
    assert code == 0, stderr
    path, sentences = source("train")
    written = split_outputs(out, path.name + ".tsv")
    for name, share in SHARES:
        assert abs(len(written[name]) / len(sentences) - share) <= 0.01, name


def test_split_is_byte_identical_when_run_again(split_runs):
    first, second = split_runs

    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    a, b = files(first), files(second)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key], key


def test_split_keeps_existing_sentences_when_more_are_appended(split_runs, tmp_path):
    path, sentences = source("train")
    _, extra = source("dev-slice")
    grown = tmp_path / "in" / path.name  # the same file NAME, so the same document id
    grown.parent.mkdir()
    data = path.read_bytes()
    assert data.endswith(b"\n\n")
    grown.write_bytes(data + (WNUT17_FIXTURES / "emerging.dev.slice.conll").read_bytes())
    all_sentences = sentences + extra
    assert read_conll(grown) == all_sentences
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", grown, "-f", "TSV_IOB", "-o", out, "--split", SPLIT, "--seed", SEED)
    assert code == 0, stderr
    after = check_split(out, grown, all_sentences)
    before = split_outputs(split_runs[0], path.name + ".tsv")
    for name, _ in SHARES:
        # the existing sentences keep their split and their order; new ones follow
        assert after[name][: len(before[name])] == before[name], name


# -- 6. The report -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,fmt",
    [pytest.param(*p.values, fmt, id=f"{p.id}-{fmt}", marks=p.marks) for p in source_param("train") for fmt in ["TSV_IOB"]]
    + [pytest.param(*p.values, fmt, id=f"{p.id}-{fmt}", marks=p.marks) for p in source_param("dev") for fmt in ["JSON"]]
    + [pytest.param(*p.values, fmt, id=f"{p.id}-{fmt}", marks=p.marks) for p in source_param("dev-slice") for fmt in ["JSON_ADVANCED"]],
)
def test_report_counts_and_checksums(convert, name, fmt):
    path, sentences = source(name)
    out = convert(path, fmt)
    report = report_of(out)
    spans = Counter(e.label for s in sentences for e in entities(s))
    counts = report["counts"]
    assert counts["documents"] == 1
    assert counts["lines"] == len(sentences)
    assert counts["tokens"] == sum(len(s.tokens) for s in sentences)
    assert counts["spans"] == sum(spans.values())
    assert report["spans_per_label"] == dict(spans)
    on_disk = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file() and p.name != REPORT}
    assert set(report["files"]) == set(on_disk)
    for rel, entry in report["files"].items():
        assert entry["sha256"] == sha256(on_disk[rel]), rel
        assert entry["bytes"] == on_disk[rel].stat().st_size, rel


# -- 7. -DOCSTART- sections and stray I- tags -----------------------------------------

DOCSTART_FILE = (
    "-DOCSTART- -X- -X- O\n"
    "\n"
    "John\tI-person\n"  # an I- that starts an entity
    "Smith\tI-person\n"
    "lives\tO\n"
    "in\tO\n"
    "New\tB-location\n"
    "York\tI-location\n"
    "\t\n"  # a lone tab ends a sentence, as in WNUT-17
    "Paris\tI-location\n"  # stray
    "is\tO\n"
    "nice\tO\n"
    "\n"
    "-DOCSTART- -X- -X- O\n"
    "\n"
    "Bob\tB-person\n"
    "met\tO\n"
    "Alice\tB-person\n"
    "Jones\tI-group\n"  # stray: an I- of another label starts a group
    "\n"
)
DOC1 = "John\tB-person\nSmith\tI-person\nlives\tO\nin\tO\nNew\tB-location\nYork\tI-location\n\nParis\tB-location\nis\tO\nnice\tO\n"
DOC2 = "Bob\tB-person\nmet\tO\nAlice\tB-person\nJones\tB-group\n"


def test_docstart_sections_become_documents(tmp_path):
    source_file = tmp_path / "news.conll"
    source_file.write_text(DOCSTART_FILE, encoding="utf-8", newline="")
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source_file, "-f", "TSV_IOB", "-o", out)
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(["news.conll#1.tsv", "news.conll#2.tsv", REPORT])
    assert (out / "news.conll#1.tsv").read_bytes().decode("utf-8") == DOC1
    assert (out / "news.conll#2.tsv").read_bytes().decode("utf-8") == DOC2
    report = report_of(out)
    assert report["counts"]["documents"] == 2
    assert report["counts"]["lines"] == 3
    assert report["counts"]["tokens"] == 13
    assert report["spans_per_label"] == {"person": 3, "location": 2, "group": 1}
    # the three I- tags that start an entity are counted in "read"
    assert sum(report["read"].values()) == 3, report["read"]
    assert any("I-" in key for key in report["read"]), report["read"]


def test_docstart_documents_are_split_by_their_own_ids(tmp_path):
    """Split by line (a project of several documents is split by document
    unless told otherwise), the hash uses the section's document id, ``<file>#<n>``."""
    sentences = []
    body = ""
    for doc in range(2):
        body += "-DOCSTART- -X- -X- O\n\n"
        for i in range(20):
            body += f"w{doc}x{i}\tO\nend\tB-thing\n\n"
            sentences.append((f"news.conll#{doc + 1}", i, (f"w{doc}x{i}", "end")))
    source_file = tmp_path / "news.conll"
    source_file.write_text(body, encoding="utf-8", newline="")
    out = tmp_path / "OUT"
    shares = [("train", 0.5), ("test", 0.5)]
    code, _, stderr = run_cli("convert", source_file, "-f", "TSV_IOB", "-o", out, "--split", "train=0.5,test=0.5", "--seed", 3,
                                "--split-by", "line")
    assert code == 0, stderr
    for split, _ in shares:
        for doc in ("news.conll#1", "news.conll#2"):
            want = [tokens for d, i, tokens in sentences if d == doc and split_of(3, d, i, shares) == split]
            path = out / split / f"{doc}.tsv"
            got = [s.tokens for s in read_token_lines(path, "\t", 2)] if path.exists() and path.stat().st_size else []
            assert got == want, (split, doc)


# -- 8. What tags and plain text cannot carry is listed ---------------------------------
# The hard-cases export (tests/contract_fixture.py): a DATE span on "43", the
# end of the token "1843"; a CONFLICT arrow beside a resolved one.

OFF_TOKEN_BOUNDARIES = "spans that do not start and end on token boundaries"
TEXT_ONLY = "spans (the format writes the text without them)"
CONFLICTS = "unresolved (CONFLICT) entries"


@pytest.fixture(scope="module")
def hard_cases(tmp_path_factory):
    import contract_fixture

    return contract_fixture.build(tmp_path_factory.mktemp("hard") / "hard-cases")


def hard_convert(hard_cases: Path, fmt: str, out: Path) -> tuple[dict, str]:
    code, _, stderr = run_cli("convert", hard_cases, "-f", fmt, "-o", out)
    assert code == 0, stderr
    return report_of(out), stderr


@pytest.mark.parametrize("fmt,name,tag_column", [("TSV_IOB", "hard.txt.tsv", 1), ("TSV_NON_IOB", "hard.txt.tsv", 1),
                                                 ("CONLL_2003", "hard.txt.conll", 3)])
def test_a_span_inside_a_token_is_left_out_of_the_tags_and_listed(hard_cases, tmp_path, fmt, name, tag_column):
    """Tagging all of "1843" for a span on "43" would teach a label on
    characters nobody labeled: the token keeps its O, the span is listed."""
    report, stderr = hard_convert(hard_cases, fmt, tmp_path / "OUT")
    rows = [line.split("\t" if fmt != "CONLL_2003" else " ") for line in (tmp_path / "OUT" / name).read_text(
        encoding="utf-8").split("\n") if line and not line.startswith("-DOCSTART-")]
    tags = {row[0]: row[tag_column] for row in rows}
    assert tags["1843"] == "O"
    assert tags["Royal"] != "O"  # (the line's other span is still tagged)
    lost = report["not_carried"][OFF_TOKEN_BOUNDARIES]
    assert lost == {"count": 1, "examples": [{"document": "hard.txt", "line": 1, "label": "DATE", "text": "43"}]}
    assert f"labelport: warning: not carried by {fmt}: {OFF_TOKEN_BOUNDARIES}: 1\n" in stderr


def test_plain_lists_every_span(hard_cases, tmp_path):
    """PLAIN is the text only, by design: all 12 spans are listed (arrows,
    comments and answers as in every format without them)."""
    report, stderr = hard_convert(hard_cases, "PLAIN", tmp_path / "OUT")
    source = json.loads((hard_cases / "REVIEW" / "hard.txt.json").read_text(encoding="utf-8"))["data"]
    assert report["not_carried"][TEXT_ONLY]["count"] == len(source["spanLabels"]) == 12
    assert report["not_carried"]["arrows"]["count"] == len(source["arrowLabels"])
    assert f"labelport: warning: not carried by PLAIN: {TEXT_ONLY}: 12\n" in stderr
    assert (tmp_path / "OUT" / "hard.txt").read_text(encoding="utf-8") == "".join(
        cell["content"] + "\n" for cell in source["cells"])


def test_json_drops_conflict_arrows_as_it_drops_conflict_spans(hard_cases, tmp_path):
    report, stderr = hard_convert(hard_cases, "JSON", tmp_path / "OUT")
    lines = json.loads((tmp_path / "OUT" / "hard.txt.json").read_text(encoding="utf-8"))
    first = lines[0]
    names = [first["text"][s["start"]:s["end"]] for s in first["spans"]]
    assert names == ["Ada Lovelace", "Charles", "Babbage", "London"]  # the CONFLICT LOC on London is dropped
    # a1 (Ada Lovelace -> Charles) is written; a4 (Ada Lovelace -> Babbage), unresolved, is not
    assert first["relations"] == [{"label": "MET", "from": 0, "to": 1}]
    assert report["not_carried"][CONFLICTS]["count"] == 2  # the span h4 and the arrow a4
    assert {"document": "hard.txt", "line": 0, "label": "MET"} in report["not_carried"][CONFLICTS]["examples"]
    assert f"labelport: warning: not carried by JSON: {CONFLICTS}: 2\n" in stderr
