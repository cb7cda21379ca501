"""Agreement in every export: labelport-report.json's "agreement" section,
the summary's line naming the labels agreed on least, and HF_DATASET's
"Annotation agreement" card tables, on export-all zips built here; the same
figures as labelport.agreement, whatever writes them (--jobs 2's workers,
--role, --zip, the export job), and nothing for an input without labelers'
versions."""

from __future__ import annotations

import json
import pickle
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from test_agreement import TAGS, TOKENS

import labelport
from labelport.conversion import parallel
from labelport.iaa import Tally
from labelport.iaa.summary import section
from labelport.model import TOKEN_BASED, Document, Labeler, Line, Project, Span

NEWSROOM = ROOT / "examples" / "newsroom-export.zip"
SEE = 'see labelport-report.json "agreement"'


def write_version(folder: Path, name: str, tags: list[list[str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sentences = ["\n".join(f"{token} {tag}" for token, tag in zip(tokens, line)) for tokens, line in zip(TOKENS, tags)]
    (folder / name).write_text("\n\n".join(sentences) + "\n", encoding="utf-8")


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.write(path, path.relative_to(folder).as_posix())
    return archive


@pytest.fixture
def people_zip(tmp_path: Path) -> Path:
    """test_agreement's one document (REVIEW, alice, bob, carol) as an export-all zip."""
    for folder, tags in TAGS.items():
        write_version(tmp_path / "export" / folder, "people.conll", tags)
    return zip_folder(tmp_path / "export", tmp_path / "people.zip")


#: Which of TAGS' versions each labeler's version of document n is: every
#: labeler's differs from document to document; carol has no version of the last two.
ROTATION = ["REVIEW", "DOCUMENT-alice", "DOCUMENT-bob", "DOCUMENT-carol"]


@pytest.fixture(scope="module")
def six_documents(tmp_path_factory) -> Path:
    """An export-all folder of six documents, one file each, labeled differently by three labelers."""
    base = tmp_path_factory.mktemp("six") / "export"
    for n in range(6):
        write_version(base / "REVIEW", f"doc{n}.conll", TAGS["REVIEW"])
        for i, labeler in enumerate(("alice", "bob", "carol")):
            if labeler == "carol" and n >= 4:
                continue
            write_version(base / f"DOCUMENT-{labeler}", f"doc{n}.conll", TAGS[ROTATION[(n + i + 1) % 4]])
    return base


def report_of(out: Path) -> dict:
    return json.loads((out / "labelport-report.json").read_text(encoding="utf-8"))


#: The section's figures that are labelport.agreement's (all pairs' overall entries, each labeler's per label
#: against REVIEW, kappa, alpha)
FIGURES = ("documents", "labelers", "span_f1", "span_f1_overlap", "span_f1_against_review", "kappa", "alpha")


def figures_of(found: dict) -> dict:
    return {key: found[key] for key in FIGURES}


def agreements_figures(source: object) -> dict:
    """labelport.agreement's figures of ``source`` as the report's section holds them."""
    result = labelport.agreement(source)
    return {
        "documents": result["documents"],
        "labelers": result["labelers"],
        "span_f1": [e for e in result["span_f1"] if e["label"] is None],
        "span_f1_overlap": [e for e in result["span_f1_overlap"] if e["label"] is None],
        "span_f1_against_review": [e for e in result["span_f1"] if e["label"] is not None and e["b"] == "REVIEW"],
        "kappa": result["kappa"],
        "alpha": result["alpha"],
    }


def test_the_section_holds_agreements_figures_and_each_labels(people_zip: Path, tmp_path: Path) -> None:
    code, _, stderr = run_cli("convert", people_zip, "-f", "TSV_IOB", "-o", tmp_path / "out")
    assert code == 0, stderr
    report = report_of(tmp_path / "out")
    # after not_carried, before checks (Report.to_dict's order)
    keys = list(report)
    assert keys.index("not_carried") + 1 == keys.index("agreement") == keys.index("checks") - 1
    found = report["agreement"]
    assert figures_of(found) == agreements_figures(people_zip)
    # Against REVIEW (= alice's version): alice 1 everywhere. bob {PER 0:0-1, PER 0:4, ORG 0:6, LOC 1:0} against
    # REVIEW {PER 0:0-1, PER 0:3-4, LOC 0:6, LOC 1:0}: PER 1 of 2 each way -> .5; LOC P 1/1, R 1/2 -> 2/3;
    # ORG P 0/1, R undefined -> 0. carol {PER 0:0, PER 0:3-4, LOC 0:6}: PER .5, LOC 2/3, no ORG on either side.
    assert found["label_agreement"] == "F1 against REVIEW, mean over 3 labelers"
    labels = {entry["label"]: entry for entry in found["labels"]}
    assert list(labels) == ["LOC", "ORG", "PER"]
    assert labels["PER"] == {"label": "PER", "agreement": pytest.approx(2 / 3), "support": 2,
                             "f1": {"alice": 1.0, "bob": 0.5, "carol": 0.5}}
    assert labels["LOC"]["agreement"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert labels["ORG"] == {"label": "ORG", "agreement": 0.0, "f1": {"bob": 0.0}, "support": 0}
    # the three labels, lowest first, in the summary
    assert (f"labelport: agreement: lowest labels ORG 0.00, PER 0.67, LOC 0.78 (F1 against REVIEW, mean over "
            f"3 labelers); {SEE}") in stderr.splitlines()
    # the documents streamed from the CoNLL files were written whole
    assert (report["counts"]["lines"], report["written"]["lines"]) == (2, 2)
    [tsv] = (tmp_path / "out").glob("*.tsv")
    written = tsv.read_text(encoding="utf-8")
    assert written.count("B-PER") == 2 and written.count("B-LOC") == 2


def test_the_summary_line_comes_after_the_spans_per_label(people_zip: Path, tmp_path: Path) -> None:
    report = labelport.convert(people_zip, "JSON", tmp_path / "out")
    lines = report.summary_lines()
    assert [line.split(":")[1].strip().split()[0] for line in lines[:3]] == ["JSON", "spans", "agreement"]
    assert sum("agreement" in line for line in lines) == 1


def test_the_hf_card_table_holds_the_reports_figures(people_zip: Path, tmp_path: Path) -> None:
    labelport.convert(people_zip, "HF_DATASET", tmp_path / "hf")
    found = report_of(tmp_path / "hf")["agreement"]
    card = (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    part = card.split("## Annotation agreement\n", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip().replace("`", "") for cell in line.strip("|").split("|")]
            for line in part.splitlines() if line.startswith("| ") and "---" not in line]
    labelers = found["labelers"]
    # labelers numbered in the report's order: their e-mail addresses stay off a card that may be published
    number = {name: f"labeler {i}" for i, name in enumerate(labelers, 1)} | {"REVIEW": "REVIEW"}
    assert rows[0] == ["label", "agreement", *(f"F1 labeler {i}" for i in range(1, len(labelers) + 1)), "support"]
    assert not any(name in card for name in labelers)
    for row, entry in zip(rows[1:4], found["labels"]):
        assert row == [entry["label"], f"{entry['agreement']:.3f}",
                       *(f"{entry['f1'][name]:.3f}" if name in entry["f1"] else "-" for name in labelers),
                       str(entry["support"])]
    alpha = found["alpha"][0]
    assert ["tokens", f"{alpha['alpha']:.3f}", f"{alpha['full_agreement']:.1%}", str(alpha["items"])] in rows
    for entry in found["kappa"]:
        assert ["tokens", number[entry["a"]], number[entry["b"]], f"{entry['kappa']:.3f}", str(entry["items"])] in rows
    assert "F1 against REVIEW, mean over 3 labelers" in part


def parted(folder: Path) -> Project:
    """The export-all project in ``folder`` with each of its files a part, as
    --jobs shares out a project of many files: the parts are the same export's
    files, one document each, loaded on their own."""
    whole = labelport.load(folder)
    names = sorted(path.name for path in (folder / "REVIEW").iterdir())
    parts = []
    for name in names:
        one = folder.parent / f"part-{name}"
        if not one.exists():
            for version in folder.iterdir():
                if (version / name).exists():
                    (one / version.name).mkdir(parents=True)
                    (one / version.name / name).write_bytes((version / name).read_bytes())
        parts.append(labelport.load(one))
    return replace(whole, parts=parts)


@pytest.mark.parametrize("fmt", ["TSV_IOB", "AMAZON_COMPREHEND_CSV", "HF_DATASET"])
def test_two_processes_give_one_processs_report(six_documents: Path, tmp_path: Path, monkeypatch, fmt: str) -> None:
    shared_out = []
    write_parallel = parallel.write_parallel
    monkeypatch.setattr(parallel, "write_parallel",
                        lambda *args, **kwargs: shared_out.append(write_parallel(*args, **kwargs)) or shared_out[-1])
    labelport.convert(parted(six_documents), fmt, tmp_path / "one")
    labelport.convert(parted(six_documents), fmt, tmp_path / "two", jobs=2)
    assert shared_out == [True]  # the second ran in two worker processes, their reports merged
    one, two = report_of(tmp_path / "one"), report_of(tmp_path / "two")
    if fmt == "HF_DATASET":  # (its chunks write a shard each: only the files differ)
        del one["files"], two["files"]
        one_card, two_card = ((tmp_path / out / "README.md").read_text(encoding="utf-8") for out in ("one", "two"))
        assert one_card.split("## Annotation agreement")[1] == two_card.split("## Annotation agreement")[1]
    assert one == two
    assert figures_of(one["agreement"]) == agreements_figures(six_documents)


def test_tallies_of_consecutive_parts_merge_into_the_whole(six_documents: Path) -> None:
    # every figure, the most disputed spans too, as one tally of all six documents; each part pickled
    # and back, as a worker's report is
    # (each document counted as it is read: a reader streams a document's lines while it is the current one)
    project = labelport.load(six_documents)
    parts = [Tally.of(project) for _ in range(3)]
    for n, document in enumerate(project.documents()):
        parts[0 if n < 1 else 1 if n < 4 else 2].add(document)
    parts = [pickle.loads(pickle.dumps(tally)) for tally in parts]
    merged = parts[0]
    for other in parts[1:]:
        merged.merge(other)
    assert merged.result(project) == labelport.agreement(six_documents)
    assert section(merged) == section(_whole(project))


def _whole(project: Project) -> Tally:
    tally = Tally.of(project)
    for document in project.documents():
        tally.add(document)
    return tally


def test_most_disputed_spans_stay_the_first_by_place_across_parts() -> None:
    # thirty documents of one line "a b" where bob alone marks a token: every span ties on its share, so
    # place decides, the document first. Documents 15 on mark "a", which comes before "b" within a
    # document: a part that did not rank its documents after the earlier parts' would put them first.
    # Parts of 12, 13 and 5 documents; every list passes 20 and is cut to 5 on the way.
    def document(n: int) -> Document:
        token = 0 if n >= 15 else 1
        line = Line(0, "a b", ["a", "b"], [0, 2])
        marked = Line(0, "a b", ["a", "b"], [0, 2], spans=[Span("MISC", 0, 2 * token, 2 * token + 1, token, token)])
        versions = {"alice": Document(id=f"d{n}", name=f"d{n}", kinds=(TOKEN_BASED,), lines=[line],
                                      labeler=Labeler("alice")),
                    "bob": Document(id=f"d{n}", name=f"d{n}", kinds=(TOKEN_BASED,), lines=[marked],
                                    labeler=Labeler("bob"))}
        return Document(id=f"d{n}", name=f"d{n}", kinds=(TOKEN_BASED,), lines=[line], versions=versions)

    documents = [document(n) for n in range(30)]
    project = Project(id="p", name="p", kinds=(TOKEN_BASED,), documents_factory=lambda: iter(documents),
                      labelers=[Labeler("alice"), Labeler("bob")])
    whole = labelport.agreement(project)["disagreements"]["MISC"]
    assert [(entry["document"], entry["text"]) for entry in whole] == [(f"d{n}", "b") for n in range(5)]
    merged = Tally.of(project)
    for lo, hi in ((0, 12), (12, 25), (25, 30)):
        part = Tally.of(project)
        for doc in documents[lo:hi]:
            part.add(doc)
        merged.merge(part)
    assert merged.result(project)["disagreements"]["MISC"] == whole


@pytest.mark.parametrize("options", [["--role", "LABELER"], ["--zip", "all"], ["--zip", "all", "--role", "LABELER"]],
                         ids=["role", "zip", "zip-role"])
def test_labelers_versions_written_keep_the_section(people_zip: Path, tmp_path: Path, options: list[str]) -> None:
    code, _, stderr = run_cli("convert", people_zip, "-f", "JSON_ADVANCED", "-o", tmp_path / "out", *options)
    assert code == 0, stderr
    assert figures_of(report_of(tmp_path / "out")["agreement"]) == agreements_figures(people_zip)
    assert [line for line in stderr.splitlines() if "agreement" in line] == [
        f"labelport: agreement: lowest labels ORG 0.00, PER 0.67, LOC 0.78 (F1 against REVIEW, mean over "
        f"3 labelers); {SEE}"]


def test_hf_cards_of_labelers_versions_have_the_table(people_zip: Path, tmp_path: Path) -> None:
    # --role LABELER counts agreement while the first labeler's versions are read (no REVIEW pass):
    # every folder's card has the whole table, the first's too
    labelport.convert(people_zip, "HF_DATASET", tmp_path / "out", role="LABELER")
    cards = sorted((tmp_path / "out").glob("DOCUMENT-*/README.md"))
    assert [card.parent.name for card in cards] == ["DOCUMENT-alice", "DOCUMENT-bob", "DOCUMENT-carol"]
    tables = [card.read_text(encoding="utf-8").split("## Annotation agreement", 1)[1] for card in cards]
    assert tables[0] == tables[1] == tables[2]
    assert "| `ORG` | 0.000 | - | 0.000 | - | 0 |" in tables[0]


def test_the_export_job_writes_the_section(tmp_path: Path) -> None:
    # `labelport export` runs the export job: its OUT and the delivered copy both hold the section
    code, _, stderr = run_cli("export", NEWSROOM, "-f", "CSV", "-o", tmp_path / "out", "--to", tmp_path / "dest")
    assert code == 0, stderr
    assert figures_of(report_of(tmp_path / "out")["agreement"]) == agreements_figures(NEWSROOM)
    assert report_of(tmp_path / "dest")["agreement"] == report_of(tmp_path / "out")["agreement"]
    # news.txt and chat.txt: EVENT and TRAVEL neither labeler marked; ORG alice 2 of REVIEW's 3 on both
    # documents (.4), bob none of news.txt's 2
    assert (f"labelport: agreement: lowest labels EVENT 0.00, TRAVEL 0.00, ORG 0.20 (F1 against REVIEW, mean over "
            f"2 labelers); {SEE}") in stderr.splitlines()


def test_an_input_without_versions_has_no_section_and_no_line(tmp_path: Path) -> None:
    for source in (ROOT / "examples" / "wnut17-sample.conll", ROOT / "examples" / "projects" / "newsroom-p8Xk2Lq9"
                   / "REVIEW"):
        out = tmp_path / source.name
        code, _, stderr = run_cli("convert", source, "-f", "HF_DATASET", "-o", out)
        assert code == 0, stderr
        assert "agreement" not in report_of(out)
        assert "agreement" not in stderr
        assert "Annotation agreement" not in (out / "README.md").read_text(encoding="utf-8")


def test_row_labeling_names_the_questions_by_alpha(tmp_path: Path) -> None:
    # two labelers answering one question per row: "intent" on 3 rows, 2 alike -> the line names it
    for folder, answers in (("REVIEW", "abc"), ("DOCUMENT-alice", "abc"), ("DOCUMENT-bob", "abd")):
        (tmp_path / "export" / folder).mkdir(parents=True)
        rows = "".join(f"text {i},{answer}\n" for i, answer in enumerate(answers))
        (tmp_path / "export" / folder / "rows.csv").write_text("text,intent\n" + rows, encoding="utf-8")
    code, _, stderr = run_cli("convert", tmp_path / "export", "-f", "JSON", "-o", tmp_path / "out",
                              "--label-column", "intent")
    assert code == 0, stderr
    found = report_of(tmp_path / "out")["agreement"]
    assert (found["labels"], found["label_agreement"]) == ([], None)
    alpha = next(entry for entry in found["alpha"] if entry["question"] == "intent")
    assert alpha == labelport.agreement(labelport.load(tmp_path / "export", label_columns=["intent"]))["alpha"][0]
    assert f"labelport: agreement: lowest question intent {alpha['alpha']:.2f} (Krippendorff's alpha over 2 " \
           f"labelers); {SEE}" in stderr.splitlines()


def report_of_section(source: Path) -> dict:
    return section(_whole(labelport.load(source)))


def test_the_ray_engine_gives_one_processs_report(people_zip: Path, tmp_path: Path) -> None:
    # an export-all input is not shared out (the layout gives it no parts): --engine ray writes it in this
    # process, its report the same bytes, section included
    pytest.importorskip("ray")
    labelport.convert(people_zip, "TSV_IOB", tmp_path / "one")
    labelport.convert(people_zip, "TSV_IOB", tmp_path / "ray", engine="ray")
    assert (tmp_path / "one" / "labelport-report.json").read_bytes() == (
        tmp_path / "ray" / "labelport-report.json").read_bytes()
    assert "agreement" in report_of(tmp_path / "ray")


def test_without_reviews_spans_a_label_is_the_labelers_pairwise_f1(tmp_path: Path) -> None:
    # an export of labelers' versions only: the final copy is ROOT's, unlabeled. alice and bob
    # (test_agreement's versions): PER 1 of 2 each way -> .5; LOC alice 2, bob 1, common 1 -> 2/3;
    # ORG bob's alone -> 0. Support: both labelers' spans, PER 2 + 2, LOC 2 + 1, ORG 0 + 1
    write_version(tmp_path / "export" / "ROOT", "people.conll", [["O"] * 7, ["O"] * 3])
    for folder in ("DOCUMENT-alice", "DOCUMENT-bob"):
        write_version(tmp_path / "export" / folder, "people.conll", TAGS[folder])
    report = labelport.convert(tmp_path / "export", "CONLL_2003", tmp_path / "out")
    found = report_of(tmp_path / "out")["agreement"]
    assert found["label_agreement"] == "F1 between labelers, mean over 1 pair"
    assert found["label_support"] == "the labelers' spans of the label, all together (in the documents with " \
                                     "labelers' versions)"
    assert [(e["label"], e["agreement"], e["f1"], e["support"]) for e in found["labels"]] == [
        ("LOC", pytest.approx(2 / 3), {"alice / bob": pytest.approx(2 / 3)}, 3),
        ("ORG", 0.0, {"alice / bob": 0.0}, 1), ("PER", 0.5, {"alice / bob": 0.5}, 4)]
    assert (f"labelport: agreement: lowest labels ORG 0.00, PER 0.50, LOC 0.67 (F1 between labelers, mean over "
            f"1 pair); {SEE}") in report.summary_lines()
    # nobody is measured against the unlabeled copy standing for REVIEW, in the report or by inspect
    assert [(e["a"], e["b"]) for e in found["span_f1"] + found["kappa"]] == [("alice", "bob")] * 2
    assert found["span_f1_against_review"] == []
    shown = labelport.agreement(tmp_path / "export")
    assert {(e["a"], e["b"]) for e in shown["span_f1"] + shown["kappa"]} == {("alice", "bob")}
    code, table, _ = run_cli("inspect", tmp_path / "export", "--agreement")
    assert code == 0 and "no reviewed version (REVIEW holds no label): the labelers are compared with each other " \
                         "only" in table.splitlines()
