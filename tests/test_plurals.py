"""Counts in messages read "1 object", "2 objects": the delivery summary and
``labelport validate``'s last line use the one rule (labelport.progress.counted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_azure import NER_MLTABLE, _good_sentences, _write

from labelport.delivery.destinations.base import Delivered, DeliveryResult


def _result(uploaded: int, unchanged: int) -> DeliveryResult:
    objects = [Delivered(f"f{i}", f"s3://b/f{i}", 1, "0" * 64, uploaded=i < uploaded)
               for i in range(uploaded + unchanged)]
    return DeliveryResult("s3://b/ner", objects)


@pytest.mark.parametrize("uploaded, unchanged, expected", [
    (1, 0, "labelport: s3://b/ner: 1 object uploaded, 0 unchanged"),
    (2, 1, "labelport: s3://b/ner: 2 objects uploaded, 1 unchanged"),
    (0, 1, "labelport: s3://b/ner: already up to date, nothing uploaded (1 object)"),
    (0, 3, "labelport: s3://b/ner: already up to date, nothing uploaded (3 objects)"),
])
def test_delivery_summary_counts_objects_in_words(uploaded: int, unchanged: int, expected: str) -> None:
    assert _result(uploaded, unchanged).summary() == expected


def test_validate_says_one_rule_and_one_warning(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "DIR"
    # 49 training sentences (one short of Azure's minimum: a warning), and one without its final newline (an error)
    _write(folder / "train" / "train.txt", _good_sentences(49).rstrip("\n"))
    _write(folder / "train" / "MLTable", NER_MLTABLE.format("train.txt"))
    _write(folder / "validation" / "validation.txt", _good_sentences(2))
    _write(folder / "validation" / "MLTable", NER_MLTABLE.format("validation.txt"))
    code, stdout, stderr = run_cli("validate", folder, "--target", "azure")
    assert code == 1, stdout + stderr
    assert stdout.count(": error: ") == 1 and stdout.count(": warning: ") == 1, stdout
    assert stderr.splitlines()[-1] == "labelport: azure: 1 rule broken, 1 warning", stderr


def test_validate_says_rules_and_warnings_for_none(tmp_path: Path, run_cli) -> None:
    folder = tmp_path / "DIR"
    _write(folder / "train" / "train.txt", _good_sentences(50))
    _write(folder / "train" / "MLTable", NER_MLTABLE.format("train.txt"))
    _write(folder / "validation" / "validation.txt", _good_sentences(2))
    _write(folder / "validation" / "MLTable", NER_MLTABLE.format("validation.txt"))
    code, stdout, stderr = run_cli("validate", folder, "--target", "azure")
    assert code == 0 and stdout == "", stdout + stderr
    assert stderr.splitlines()[-1] == "labelport: azure: 0 rules broken, 0 warnings", stderr
