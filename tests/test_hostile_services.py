"""Writer and checker of a target read one table of rules
(labelport.targets.<t>.rules / .layout / .features): what one side writes,
the other reads the same way.

- split names a service cannot hold are refused before anything is written,
  with the names the service does hold;
- a split named by a word the Azure checker reads as validation is the
  validation data the writer's report names;
- a dataset card whose struct fields come in another order than the files'
  (datasets compares them as mappings) is the same features to the checker,
  and a changed field type still is not.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import WNUT17_FIXTURES, run_cli
from hostile import assert_refused
from sources import iob2_tags, read_conll, read_token_lines, report_of

from labelport.validate import validate

SOURCE = WNUT17_FIXTURES / "wnut17train.head.conll"


@pytest.mark.parametrize(
    ("case_id", "fmt", "split", "words"),
    [
        ("vertex-dev-split", "GCP_VERTEX_AI_CSV", "train=0.8,dev=0.2",
         ["'dev' has no Vertex AI ml_use", "written as ml_use training, validation, test"]),
        ("vertex-training-split", "GCP_VERTEX_AI_CSV", "training=0.8,validation=0.2", ["'training' has no Vertex AI"]),
        ("hf-dash-split", "HF_DATASET", "train=0.8,my-test=0.2", ["'my-test' cannot name a Hugging Face split"]),
        ("hf-empty-part-split", "HF_DATASET", "train=0.8,a..b=0.2", ["'a..b' cannot name a Hugging Face split"]),
    ],
)
def test_split_a_service_cannot_hold_is_refused(places, case_id, fmt, split, words):
    _, work, out = places
    message = assert_refused(*run_cli("convert", SOURCE, "-f", fmt, "-o", out, "--split", split), work, out)
    for word in words:
        assert word in message, (case_id, message)


@pytest.mark.parametrize("name", ["development", "dev", "val"])
def test_azure_validation_words_agree(tmp_path, name):
    """The writer's report names the split as AutoML's validation data, the
    checker reads it as validation (no "no validation data" finding), and the
    two files hold the source's sentences between them."""
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", SOURCE, "-f", "AZURE_AUTOML_CSV", "-o", out, "--split", f"train=0.8,{name}=0.2")
    assert code == 0, stderr
    assert report_of(out)["azure"]["validation_data"] == f"{name}/"
    findings = validate(out, "azure")
    assert not any(f.rule == "azure.validation.missing" for f in findings), findings
    written = read_token_lines(out / "train" / "train.txt", " ", 2) + read_token_lines(out / name / f"{name}.txt", " ", 2)
    source = [(s.tokens, iob2_tags(s)) for s in read_conll(SOURCE)]
    assert sorted((s.tokens, s.tags) for s in written) == sorted(source)


def _edit_card_features(out, edit) -> None:
    card = out / "README.md"
    _, front, body = card.read_text(encoding="utf-8").split("---\n", 2)
    metadata = yaml.safe_load(front)
    edit({f["name"]: f for f in metadata["dataset_info"]["features"]})
    card.write_text("---\n" + yaml.safe_dump(metadata, sort_keys=False) + "---\n" + body, encoding="utf-8")


def test_hf_struct_fields_in_another_order_are_the_same_features(tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "OUT"
    code, _, stderr = run_cli("convert", SOURCE, "-f", "HF_DATASET", "-o", out)
    assert code == 0, stderr

    _edit_card_features(out, lambda features: features["spans"]["list"].reverse())  # label, end, start
    assert [f for f in validate(out, "hf") if f.hard] == []
    rows = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))["train"]
    source = read_conll(SOURCE)
    assert [row["tokens"] for row in rows] == [list(s.tokens) for s in source]
    assert sum(len(row["spans"]) for row in rows) == sum(t.startswith("B-") for s in source for t in iob2_tags(s))

    def retype(features):
        features["spans"]["list"][0]["dtype"] = "int64"  # label, a string in the files

    _edit_card_features(out, retype)
    hard = [f for f in validate(out, "hf") if f.hard]
    assert any(f.rule == "features" and "disagree with the card's dataset_info" in f.message for f in hard), hard
