"""Splits without leakage (issue 13, item 1): ``--split-by`` and ``--stratify``.

What is written is read back with tests/sources.py's readers, independently
of labelport, and compared with the source: which document or sentence went
where. The stratification rule is recomputed here from the README's words
(a unit joins the group of its rarest label; inside a group each split gets
its share within one unit), so the tolerances below are the rule's own.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, SMS_SLICE, run_cli
from sources import Sentence, entities, read_conll, read_csv_rows, read_token_lines, report_of, sms_pairs, split_of

import labelport
from labelport.conversion import splitting

SHARES = [("train", 0.7), ("test", 0.3)]
NEWSROOM = ROOT / "tests" / "fixtures" / "datasaur" / "newsroom-p8Xk2Lq9"
SPLIT = ["--split", "train=0.7,test=0.3", "--seed", "3"]


def _conll(sentences: list[Sentence]) -> str:
    return "".join("".join(f"{t}\t{g}\n" for t, g in zip(s.tokens, s.tags)) + "\n" for s in sentences)


def _documents_folder(folder: Path, sentences: list[Sentence], per_document: int) -> dict[str, list[Sentence]]:
    """The sentences cut into CoNLL files of ``per_document`` sentences: document name -> its sentences."""
    folder.mkdir()
    documents = {}
    for n in range(0, len(sentences), per_document):
        name = f"doc{n // per_document:03}.conll"
        documents[name] = sentences[n : n + per_document]
        (folder / name).write_text(_conll(documents[name]), encoding="utf-8", newline="")
    return documents


def _written(out: Path) -> dict[str, dict[str, list[Sentence]]]:
    """split -> document name -> its sentences, read back from TSV_IOB files."""
    found: dict[str, dict[str, list[Sentence]]] = {}
    for path in sorted(out.glob("*/*.tsv")):
        size = path.stat().st_size
        found.setdefault(path.parent.name, {})[path.name.removesuffix(".tsv")] = (
            read_token_lines(path, "\t", 2) if size else [])
    return found


def _tree_digest(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


# -- 1. several documents: each goes whole to one split (the default) ------------------------


def test_no_document_in_two_splits(tmp_path, wnut17_dev):
    documents = _documents_folder(tmp_path / "in", read_conll(wnut17_dev)[:300], 10)
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", tmp_path / "in", "-f", "TSV_IOB", "-o", out, *SPLIT)
    assert code == 0, stderr
    written = _written(out)
    seen = Counter(name for split in written.values() for name in split)
    assert set(seen) == set(documents) and set(seen.values()) == {1}, "a document in two splits, or lost"
    for split, files in written.items():
        for name, sentences in files.items():
            assert sentences == documents[name], name  # whole, in order
            assert split == split_of(3, name, None, SHARES), name  # the README's rule, by document id
    assert set(written) == {"train", "test"}
    report = report_of(out)
    assert report["split"]["unit"] == "document" and report["split"]["seed"] == 3
    for split, files in written.items():
        counts = report["splits"][split]
        assert counts["documents"] == len(files)
        assert counts["lines"] == sum(len(s) for s in files.values())
        want = Counter(e.label for s in files.values() for sentence in s for e in entities(sentence))
        assert counts["labels"] == dict(sorted(want.items()))
    assert "split by document" in stderr


def test_project_wide_format_keeps_documents_whole(tmp_path, wnut17_dev):
    """AMAZON_COMPREHEND_CSV writes one documents.txt a split: every sentence
    of a document is in the same split's file."""
    documents = _documents_folder(tmp_path / "in", read_conll(wnut17_dev)[:200], 8)
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", tmp_path / "in", "-f", "AMAZON_COMPREHEND_CSV", "-o", out, *SPLIT)
    assert code == 0, stderr
    lines = {split: (out / split / "documents" / "documents.txt").read_bytes().decode("utf-8").split("\n")[:-1]
             for split in ("train", "test")}
    want = {split: [s.text for name, ss in documents.items() if split_of(3, name, None, SHARES) == split for s in ss]
            for split in ("train", "test")}
    assert lines == want


def test_jobs_give_the_same_bytes(tmp_path, wnut17_dev):
    _documents_folder(tmp_path / "in", read_conll(wnut17_dev)[:200], 10)
    outs = []
    for jobs in ("1", "2"):
        outs.append(tmp_path / f"OUT{jobs}")
        code, _, stderr = run_cli("convert", tmp_path / "in", "-f", "CONLL_2003", "-o", outs[-1], *SPLIT,
                                  "--stratify", "--jobs", jobs)
        assert code == 0, stderr
    assert _tree_digest(outs[0]) == _tree_digest(outs[1])


# -- 2. one document: split by line, as before, and the report says so ---------------------


def test_one_conll_document_splits_by_sentence(tmp_path, wnut17_fixtures):
    source = wnut17_fixtures / "emerging.dev.slice.conll"
    sentences = read_conll(source)
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "-f", "TSV_IOB", "-o", out, *SPLIT)
    assert code == 0, stderr
    written = _written(out)
    for split in ("train", "test"):
        want = [s for i, s in enumerate(sentences) if split_of(3, source.name, i, SHARES) == split]
        assert want, split  # both splits hold sentences of the one document
        assert written[split][source.name] == want
    report = report_of(out)
    assert report["split"]["unit"] == "line" and "one document" in report["split"]["why"]
    assert "split by line (the project holds one document" in stderr


# -- 3. --stratify: each label's share close to the split's ----------------------------------


def _groups(units: dict[str, frozenset[str]]) -> dict[str, str]:
    """Each unit's group: its rarest label (fewest units; ties by name), "" without labels."""
    held = Counter(label for labels in units.values() for label in labels)
    return {u: min(labels, key=lambda label: (held[label], label)) if labels else "" for u, labels in units.items()}


def test_stratified_entity_types_by_sentence(tmp_path, wnut17_dev):
    """WNUT-17 dev (1,009 sentences), one document, split by sentence. A
    label's sentences are dealt out in the groups they fall in (their rarest
    label's), each group within one sentence of its share: so a label's test
    count is within (the number of groups its sentences fall in) of 30 %."""
    sentences = read_conll(wnut17_dev)
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", wnut17_dev, "-f", "TSV_IOB", "-o", out, *SPLIT, "--stratify")
    assert code == 0, stderr
    test = read_token_lines(out / "test" / f"{wnut17_dev.name}.tsv", "\t", 2)
    train = read_token_lines(out / "train" / f"{wnut17_dev.name}.tsv", "\t", 2)
    assert len(test) + len(train) == len(sentences)
    units = {str(i): frozenset(e.label for e in entities(s)) for i, s in enumerate(sentences)}
    groups = _groups(units)
    holding = {label: [u for u, labels in units.items() if label in labels] for label in set().union(*units.values())}
    in_test = Counter(label for s in test for label in {e.label for e in entities(s)})
    for label, members in holding.items():
        tolerance = len({groups[u] for u in members})
        assert abs(in_test[label] - 0.3 * len(members)) <= tolerance, (label, in_test[label], len(members))
    report = report_of(out)
    assert report["split"]["stratify"] is True and report["split"]["warnings"] == []


def test_stratified_documents_are_still_whole(tmp_path, wnut17_dev):
    documents = _documents_folder(tmp_path / "in", read_conll(wnut17_dev)[:600], 5)
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", tmp_path / "in", "-f", "TSV_IOB", "-o", out, *SPLIT, "--stratify")
    assert code == 0, stderr
    written = _written(out)
    seen = Counter(name for split in written.values() for name in split)
    assert set(seen) == set(documents) and set(seen.values()) == {1}
    units = {name: frozenset(e.label for s in ss for e in entities(s)) for name, ss in documents.items()}
    groups = _groups(units)
    test_documents = set(written["test"])
    for group in set(groups.values()):
        members = [u for u, g in groups.items() if g == group]
        in_test = sum(1 for u in members if u in test_documents)
        assert abs(in_test - 0.3 * len(members)) <= 1, (group, in_test, len(members))


def test_stratified_sms_answers(tmp_path):
    """The SMS slice (167 ham, 33 spam), one label a row: each label's test
    rows within one of 20 %."""
    pairs = sms_pairs(SMS_SLICE)
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", SMS_SLICE, "--from", "TSV", "--columns", "label,text", "-f", "CSV",
                              "--split", "train=0.8,test=0.2", "--stratify", "-o", out)
    assert code == 0, stderr
    rows = {split: read_csv_rows(out / split / "sms_slice.tsv.csv")[1:] for split in ("train", "test")}
    assert sorted(r[0] for r in rows["train"] + rows["test"]) == sorted(text for _, text in pairs)
    total = Counter(label for label, _ in pairs)
    in_test = Counter(r[1] for r in rows["test"])
    for label, n in total.items():
        assert abs(in_test[label] - 0.2 * n) <= 1, (label, in_test[label], n)
    report = report_of(out)
    assert report["split"]["unit"] == "row"
    assert report["splits"]["test"]["labels"] == dict(sorted(in_test.items()))


def test_python_api_takes_split_by_and_stratify(tmp_path):
    report = labelport.convert(labelport.load(SMS_SLICE, from_format="TSV", columns=["label", "text"]), "CSV",
                               tmp_path / "OUT", split={"train": 0.8, "test": 0.2}, split_by="line", stratify=True)
    assert report.split_plan is not None and report.split_plan["stratify"] is True
    cli_out = tmp_path / "CLI"
    code, _, stderr = run_cli("convert", SMS_SLICE, "--from", "TSV", "--columns", "label,text", "-f", "CSV",
                              "--split", "train=0.8,test=0.2", "--split-by", "line", "--stratify", "-o", cli_out)
    assert code == 0, stderr
    assert (tmp_path / "OUT" / "test" / "sms_slice.tsv.csv").read_bytes() == (
        cli_out / "test" / "sms_slice.tsv.csv").read_bytes()


# -- 4. a table column groups rows ------------------------------------------------------------


def test_split_by_column_keeps_a_users_rows_together(tmp_path):
    pairs = sms_pairs(SMS_SLICE)
    source = tmp_path / "by-user.csv"
    lines = ["user,label,text"] + [f"u{i % 23},{label},\"{text.replace(chr(34), chr(34) * 2)}\""
                                   for i, (label, text) in enumerate(pairs)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", source, "--label-column", "label", "-f", "CSV", "-o", out, *SPLIT,
                              "--split-by", "user")
    assert code == 0, stderr
    users: dict[str, set[str]] = {}
    for split in ("train", "test"):
        header, *rows = read_csv_rows(out / split / "by-user.csv")
        for row in rows:
            users.setdefault(row[header.index("user")], set()).add(split)
    assert len(users) == 23 and all(len(splits) == 1 for splits in users.values()), users
    assert {next(iter(s)) for s in users.values()} == {"train", "test"}
    assert report_of(out)["split"]["unit"] == "user"


# -- 5. reproducible, and stable when documents are added ---------------------------------------


@pytest.mark.parametrize("extra", [[], ["--stratify"]], ids=["hash", "stratify"])
def test_same_seed_same_bytes(tmp_path, wnut17_dev, extra):
    _documents_folder(tmp_path / "in", read_conll(wnut17_dev)[:200], 10)
    digests = []
    for n in range(2):
        out = tmp_path / f"OUT{n}"
        code, _, stderr = run_cli("convert", tmp_path / "in", "-f", "JSON_ADVANCED", "-o", out, *SPLIT, *extra)
        assert code == 0, stderr
        digests.append(_tree_digest(out))
    assert digests[0] == digests[1]


def _splits_of(out: Path) -> dict[str, str]:
    return {name: split for split, files in _written(out).items() for name in files}


def test_adding_a_document_moves_none(tmp_path, wnut17_dev):
    sentences = read_conll(wnut17_dev)[:330]
    folder = tmp_path / "in"
    _documents_folder(folder, sentences[:300], 10)
    before, after = tmp_path / "BEFORE", tmp_path / "AFTER"
    assert run_cli("convert", folder, "-f", "TSV_IOB", "-o", before, *SPLIT)[0] == 0
    (folder / "doc999.conll").write_text(_conll(sentences[300:]), encoding="utf-8", newline="")
    assert run_cli("convert", folder, "-f", "TSV_IOB", "-o", after, *SPLIT)[0] == 0
    old, new = _splits_of(before), _splits_of(after)
    assert {name: new[name] for name in old} == old
    assert set(new) - set(old) == {"doc999.conll"}


def test_adding_a_document_with_stratify_moves_at_most_one_across_its_groups_boundary(tmp_path, wnut17_dev):
    """Stratified, a new unit shifts the units after it in its group by one
    place: at most one unit of that group crosses the one boundary of two
    splits; a unit whose group is not the new one's and did not change stays."""
    sentences = read_conll(wnut17_dev)[:330]
    folder = tmp_path / "in"
    documents = _documents_folder(folder, sentences[:300], 5)
    before, after = tmp_path / "BEFORE", tmp_path / "AFTER"
    assert run_cli("convert", folder, "-f", "TSV_IOB", "-o", before, *SPLIT, "--stratify")[0] == 0
    documents["doc999.conll"] = sentences[300:305]
    (folder / "doc999.conll").write_text(_conll(documents["doc999.conll"]), encoding="utf-8", newline="")
    assert run_cli("convert", folder, "-f", "TSV_IOB", "-o", after, *SPLIT, "--stratify")[0] == 0
    units = {name: frozenset(e.label for s in ss for e in entities(s)) for name, ss in documents.items()}
    old_groups = _groups({n: labels for n, labels in units.items() if n != "doc999.conll"})
    new_groups = _groups(units)
    old, new = _splits_of(before), _splits_of(after)
    moved = [name for name in old if new[name] != old[name]]
    settled = [n for n in moved if old_groups[n] == new_groups[n] != new_groups["doc999.conll"]]
    assert settled == []
    assert len([n for n in moved if old_groups[n] == new_groups[n]]) <= 1, moved


# -- 6. warnings: an empty split, a label a split lacks -------------------------------------------


def _two_documents(folder: Path) -> None:
    folder.mkdir()
    (folder / "a.conll").write_text("Paris\tB-location\nis\tO\n\n", encoding="utf-8")
    (folder / "b.conll").write_text("Acme\tB-corporation\nsells\tO\n\n", encoding="utf-8")


def _seed_where(want: set[str]) -> int:
    """A seed giving documents a and b the splits ``want`` (by the README's rule)."""
    shares = [("train", 0.5), ("test", 0.5)]
    return next(s for s in range(100) if {split_of(s, "a.conll", None, shares), split_of(s, "b.conll", None, shares)} == want)


def test_warns_of_an_empty_split(tmp_path):
    _two_documents(tmp_path / "in")
    seed = _seed_where({"train"})
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", tmp_path / "in", "-f", "TSV_IOB", "-o", out,
                              "--split", "train=0.5,test=0.5", "--seed", seed)
    assert code == 0, stderr
    assert "labelport: warning: split 'test' is empty\n" in stderr
    assert report_of(out)["split"]["warnings"] == ["split 'test' is empty"]


def test_warns_of_a_label_a_split_lacks(tmp_path):
    _two_documents(tmp_path / "in")
    seed = _seed_where({"train", "test"})
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", tmp_path / "in", "-f", "TSV_IOB", "-o", out,
                              "--split", "train=0.5,test=0.5", "--seed", seed)
    assert code == 0, stderr
    warnings = report_of(out)["split"]["warnings"]
    assert sorted(warnings) == [
        "split 'test' lacks 1 label another split has: " + ("location" if split_of(seed, "a.conll", None, [("train", 0.5), ("test", 0.5)]) == "train" else "corporation"),
        "split 'train' lacks 1 label another split has: " + ("corporation" if split_of(seed, "a.conll", None, [("train", 0.5), ("test", 0.5)]) == "train" else "location"),
    ]
    for warning in warnings:
        assert f"labelport: warning: {warning}\n" in stderr


def test_no_split_keeps_the_report_as_it_was(tmp_path, wnut17_fixtures):
    """Without --split the report has no split section and no per-split labels."""
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", wnut17_fixtures / "emerging.dev.slice.conll", "-f", "TSV_IOB", "-o", out)
    assert code == 0, stderr
    report = json.loads((out / "labelport-report.json").read_text(encoding="utf-8"))
    assert "split" not in report and set(report["splits"]["train"]) == {"lines", "files"}


def test_split_by_a_datasaur_document_field(tmp_path):
    """A key of a Datasaur document's ``data`` that labelport does not model
    (kept in Document.extra) groups documents: both documents say
    ``"desk": "wire"``, so they share the unit ``desk=wire`` and its split."""
    folder = tmp_path / "project"
    shutil.copytree(NEWSROOM, folder)
    for path in (folder / "REVIEW").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["data"]["desk"] = "wire"
        path.write_text(json.dumps(data), encoding="utf-8")
    project = labelport.load(folder)
    for seed in range(10):
        out = tmp_path / f"OUT{seed}"
        labelport.convert(project, "TSV_IOB", out, split=dict(SHARES), seed=seed, split_by="desk")
        want = split_of(seed, "desk=wire", None, SHARES)
        assert sorted(p.parent.name for p in out.glob("*/*.tsv")) == [want, want], seed


def test_to_hf_splits_by_document(tmp_path, wnut17_dev):
    """labelport.to_hf splits as convert does: a document's rows (ids
    ``<document id>:<line>``) in one split; ``split_by="line"`` as before."""
    pytest.importorskip("datasets", reason="labelport[hf] is not installed")
    _documents_folder(tmp_path / "in", read_conll(wnut17_dev)[:120], 10)
    project = labelport.load(tmp_path / "in")
    by_document = labelport.to_hf(project, split=dict(SHARES), seed=3)
    documents = {split: {row_id.rpartition(":")[0] for row_id in by_document[split]["id"]} for split in by_document}
    assert documents["train"] and documents["test"] and not documents["train"] & documents["test"]
    by_line = labelport.to_hf(project, split=dict(SHARES), seed=3, split_by="line")
    lines = {split: {row_id.rpartition(":")[0] for row_id in by_line[split]["id"]} for split in by_line}
    assert lines["train"] & lines["test"]  # the same documents, their lines split


@pytest.mark.parametrize("lines_before", range(6))
def test_a_document_marker_is_found_wherever_it_falls_in_the_blocks_read(tmp_path, monkeypatch, lines_before):
    # a CoNLL file is searched for -DOCSTART- block by block (a mapped file's pages would count in the
    # resident memory); with blocks of 16 bytes and lines of 4 the marker starts at 0, 4, ... 20: inside a
    # block, across a block's end (8, 12) and at one (16)
    monkeypatch.setattr(splitting, "SEARCH_BLOCK", 16)
    first = "a O\n" * lines_before
    path = tmp_path / "two.conll"
    path.write_text(first + "-DOCSTART- -X- -X- O\n\nb B-x\n\n-DOCSTART- -X- -X- O\n\nc O\n", encoding="utf-8")
    assert splitting.documents_up_to(labelport.load(path), 2) == 2
    (tmp_path / "one.conll").write_text("a O\n" * 30, encoding="utf-8")
    assert splitting.documents_up_to(labelport.load(tmp_path / "one.conll"), 2) == 1
