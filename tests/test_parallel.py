"""--jobs N gives byte-identical output to --jobs 1, report included."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import labelport
from labelport.conversion import parallel
from labelport.errors import RejectedError

FIXTURES = Path(__file__).parent / "fixtures"
WNUT_SLICE = FIXTURES / "wnut17" / "wnut17train.head.conll"
WNUT_DEV_SLICE = FIXTURES / "wnut17" / "emerging.dev.slice.conll"
PROJECT_WIDE = ["AMAZON_COMPREHEND_CSV", "AZURE_AUTOML_CSV", "GCP_VERTEX_AI_CSV"]
SPLIT = {"train": 0.6, "validation": 0.2, "test": 0.2}
#: with test=0.8,validation=0.1,train=0.1 and --jobs 3 on token_project, the
#: first chunk holds test lines only, validation comes in the second, train in the third
SEED_LATE_TRAIN = 21


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory):
    """A DATASAUR_SCHEMA project of 24 documents (one file each)."""
    base = tmp_path_factory.mktemp("par")
    sentences = WNUT_SLICE.read_text(encoding="utf-8").split("\n\t\n")
    with open(base / "docs.conll", "w", encoding="utf-8") as fh:
        for n in range(24):
            fh.write("-DOCSTART- -X- -X- O\n\n" + "\n\n".join(sentences[n % 5 : n % 5 + 8]) + "\n\n")
    labelport.convert(labelport.load(base / "docs.conll"), "DATASAUR_SCHEMA", base / "project")
    return base / "project"


@pytest.mark.parametrize("fmt", ["TSV_IOB", "JSON_ADVANCED", "CONLL_2003"])
def test_two_processes_write_the_same_bytes(project_dir, tmp_path, fmt):
    split = {"train": 0.7, "test": 0.3}
    labelport.convert(labelport.load(project_dir), fmt, tmp_path / "one", split=split)
    labelport.convert(labelport.load(project_dir), fmt, tmp_path / "two", split=split, jobs=2)
    assert files(tmp_path / "one") == files(tmp_path / "two")
    report = json.loads((tmp_path / "two" / "labelport-report.json").read_text())
    assert report["counts"]["documents"] == 24


def test_documents_of_one_name_fall_back_to_one_process(project_dir, tmp_path, progress_bars):
    """Two files holding documents of the same name: the sequential run names
    the second `-2`; the parallel one must give exactly that too, and its
    progress counts each document once."""
    twin = tmp_path / "twin"
    shutil.copytree(project_dir, twin)
    for path in sorted(twin.glob("*.json"))[12:14]:
        shutil.copy(path, twin / f"zz-copy-{path.name}")
    one = labelport.convert(labelport.load(twin), "TSV_IOB", tmp_path / "one")
    labelport.convert(labelport.load(twin), "TSV_IOB", tmp_path / "two", jobs=2)
    written = files(tmp_path / "two")
    assert written == files(tmp_path / "one")
    assert any(name.endswith("-2.tsv") for name in written)
    sequential, fallen_back = progress_bars
    assert fallen_back.documents == sequential.documents == 26
    assert fallen_back.items == sequential.items == one.counts["lines"]


# -- project-wide formats: the chunks' files merged ------------------------------


@pytest.fixture(scope="module")
def token_project(tmp_path_factory):
    """A DATASAUR_SCHEMA project of 30 documents (one file each), 7 WNUT-17
    sentences each, emoji outside the BMP in many."""
    base = tmp_path_factory.mktemp("wide")
    train = WNUT_SLICE.read_text(encoding="utf-8").strip("\n\t").split("\n\t\n")
    dev = WNUT_DEV_SLICE.read_text(encoding="utf-8").strip("\n").split("\n\n")
    sentences = train + dev
    with open(base / "docs.conll", "w", encoding="utf-8") as fh:
        for n in range(30):
            picked = [sentences[(n * 5 + i) % len(sentences)] for i in range(7)]
            fh.write("-DOCSTART- -X- -X- O\n\n" + "\n\n".join(picked) + "\n\n")
    labelport.convert(labelport.load(base / "docs.conll"), "DATASAUR_SCHEMA", base / "project")
    return base / "project"


def document_files(project: Path) -> list[Path]:
    """The project's files, in the order it reads them (not its labelport-report.json)."""
    return sorted(project.glob("docs.conll#*.json"))


@pytest.fixture
def merged(monkeypatch):
    """What each --jobs run's write_parallel returned: True when the chunks'
    output was merged, False when the conversion ran again in one process."""
    results: list[bool] = []
    write_parallel = parallel.write_parallel

    def spy(*args, **kwargs):
        results.append(write_parallel(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(parallel, "write_parallel", spy)
    return results


def one_and_many(project: Path, fmt: str, out: Path, jobs: int = 3, **options) -> tuple[dict, dict]:
    """Every file (report included) of ``--jobs 1`` and of ``--jobs N``; a
    run the target would reject still writes its files."""
    written = []
    for name, n in (("one", 1), ("many", jobs)):
        try:
            labelport.convert(labelport.load(project), fmt, out / name, jobs=n, **options)
        except RejectedError:
            pass
        written.append(files(out / name))
    return written[0], written[1]


@pytest.mark.parametrize("split", [None, SPLIT], ids=["no-split", "split"])
@pytest.mark.parametrize("fmt", PROJECT_WIDE)
def test_project_wide_chunks_merge_into_the_same_bytes(token_project, tmp_path, merged, fmt, split):
    one, many = one_and_many(token_project, fmt, tmp_path, split=split)
    assert merged == [True]
    assert many == one
    report = json.loads(one["labelport-report.json"])
    assert report["counts"]["documents"] == 30


@pytest.mark.parametrize("fmt", [f for f in PROJECT_WIDE if f != "AZURE_AUTOML_CSV"])  # Azure's CoNLL has no offsets
def test_project_wide_utf16_offsets_merge_into_the_same_bytes(token_project, tmp_path, merged, fmt):
    """The chunks' counts of lines outside the BMP add up; offsets count UTF-16 units."""
    one, many = one_and_many(token_project, fmt, tmp_path, jobs=2, split=SPLIT, offset_unit="utf16")
    assert merged == [True]
    assert many == one


def test_azure_chunks_without_training_sentences(token_project, tmp_path, merged):
    """Few training sentences: some chunks have none (and write an empty
    training file of their own), the split files open in another order."""
    split = {"test": 0.8, "validation": 0.1, "train": 0.1}
    one, many = one_and_many(token_project, "AZURE_AUTOML_CSV", tmp_path, split=split, seed=SEED_LATE_TRAIN)
    assert merged == [True]
    assert many == one
    assert list(json.loads(one["labelport-report.json"])["azure"]["splits"]) == ["test", "validation", "train"]


def test_azure_project_without_training_sentences(token_project, tmp_path, merged):
    """No chunk writes a training sentence: one process writes the empty
    training file once, last."""
    one, many = one_and_many(token_project, "AZURE_AUTOML_CSV", tmp_path, split={"test": 0.5, "validation": 0.5})
    assert merged == [True]
    assert many == one
    assert one["train/train.txt"] == b""


def test_a_chunks_finding_falls_back_to_one_process(token_project, tmp_path, merged):
    """A token holding a space in the last file: Azure's finding names the
    line of train.txt it is written at, which that file's chunk cannot know."""
    project = tmp_path / "spaced"
    shutil.copytree(token_project, project)
    last = document_files(project)[-1]
    data = json.loads(last.read_text(encoding="utf-8"))
    labeled = {span["startCellLine"] for span in data["data"]["spanLabels"]}
    cell = next(cell for cell in data["data"]["cells"] if cell["line"] not in labeled)
    cell["tokens"][0:2] = [" ".join(cell["tokens"][0:2])]
    last.write_text(json.dumps(data), encoding="utf-8")
    one, many = one_and_many(project, "AZURE_AUTOML_CSV", tmp_path)
    assert merged == [False]
    assert many == one
    assert "at train/train.txt:" in json.loads(one["labelport-report.json"])["checks"][0]["message"]


@pytest.fixture(params=["later-files", "every-other-file"])
def relabeled(request, token_project, tmp_path):
    """The project with ``creative-work`` named ``creative work`` in some
    files: in the later files only (chunks apart), or in every other file
    (in one chunk with the old name)."""
    project = tmp_path / "relabeled"
    shutil.copytree(token_project, project)
    paths = document_files(project)
    chosen = paths[15:] if request.param == "later-files" else paths[::2]
    for path in chosen:
        path.write_text(path.read_text(encoding="utf-8").replace('"creative-work"', '"creative work"'), encoding="utf-8")
    return project


@pytest.mark.parametrize("fmt", ["AMAZON_COMPREHEND_CSV", "AZURE_AUTOML_CSV"])
def test_labels_meeting_in_one_name_fall_back_to_one_process(relabeled, tmp_path, merged, fmt):
    """Comprehend maps both labels to CREATIVE_WORK (its finding names them in
    the order one process meets them); Azure writes the second as
    creative_work, which another label could be called: whether two labels
    meet in one name is for the whole project to tell."""
    one, many = one_and_many(relabeled, fmt, tmp_path, split=SPLIT)
    assert merged == [False]
    assert many == one


def test_vertex_merges_any_label_names(relabeled, tmp_path, merged):
    """Vertex AI takes label names as they are: nothing to fall back for."""
    one, many = one_and_many(relabeled, "GCP_VERTEX_AI_CSV", tmp_path, split=SPLIT)
    assert merged == [True]
    assert many == one


def assert_same_dataset(one: Path, many: Path, splits: list[str], chunks: int) -> None:
    """HF_DATASET written by ``chunks`` chunks into ``many`` and by one process
    into ``one``: ``many`` holds a shard per chunk that got rows of a split
    (``data/<split>-0000K-of-0000N.parquet``), where ``one`` holds a shard per
    split; datasets loads the rows of one process in its order with its
    features; the HF checker finds what it finds in one process's (nothing
    hard); the card and the report are one
    process's but for the shards."""
    import datasets

    from labelport.targets.hf.layout import shard_name
    from labelport.validate import validate

    written_one, written_many = files(one), files(many)
    assert sorted(name for name in written_one if name.startswith("data/")) == sorted(
        f"data/{shard_name(split, 0, 1)}" for split in splits)
    for split in splits:
        shards = sorted(name for name in written_many if name.startswith(f"data/{split}-"))
        assert 1 < len(shards) <= chunks
        assert shards == [f"data/{shard_name(split, i, len(shards))}" for i in range(len(shards))]
    assert validate(many, "hf") == validate(one, "hf") and not any(f.hard for f in validate(many, "hf"))
    loaded_one, loaded_many = datasets.load_dataset(str(one)), datasets.load_dataset(str(many))
    assert list(loaded_many) == list(loaded_one) == splits
    for split in splits:
        assert loaded_many[split].features == loaded_one[split].features
        assert loaded_many[split].to_list() == loaded_one[split].to_list()
    card_one, card_many = (written["README.md"].decode().splitlines() for written in (written_one, written_many))
    assert len(card_one) == len(card_many)
    differ = [line.split(":")[0] if ":" in line else line.split("|")[1] for line, other in zip(card_one, card_many)
              if line != other]
    assert differ == ["  download_size", *(f" {split} " for split in splits)]  # the bytes, and the files per split
    report_one, report_many = (json.loads(written["labelport-report.json"]) for written in (written_one, written_many))
    assert {k: v for k, v in report_many.items() if k != "files"} == {k: v for k, v in report_one.items() if k != "files"}


@pytest.mark.parametrize("split", [None, SPLIT], ids=["no-split", "split"])
def test_hf_dataset_chunks_are_its_shards(token_project, tmp_path, merged, split):
    """--jobs shares HF_DATASET out: each chunk's rows of a split in a shard."""
    labelport.convert(labelport.load(token_project), "HF_DATASET", tmp_path / "one", split=split)
    labelport.convert(labelport.load(token_project), "HF_DATASET", tmp_path / "many", split=split, jobs=2)
    assert merged == [True]
    assert_same_dataset(tmp_path / "one", tmp_path / "many", list(split or ["train"]), 8)


def test_hf_dataset_chunks_dropping_labels_fall_back_to_one_process(relabeled, tmp_path, merged):
    """Label set 0 lacks ``creative work``: a chunk drops its spans, where one
    process reads the project once more to give it a ClassLabel id."""
    one, many = one_and_many(relabeled, "HF_DATASET", tmp_path, jobs=2, split=SPLIT)
    assert merged == [False]
    assert many == one
    assert "B-creative work" in one["README.md"].decode()
