"""Shared test fixtures: where the datasets are, and running the command.

The full datasets live beside the repository, in ``../shared/datasets``
(README: "Benchmarks and full-set tests read them from ../shared/datasets/");
LABELPORT_DATASETS overrides that. Tests that need a full set skip when it is
absent; the slices in tests/fixtures always ship with the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
WNUT17_FIXTURES = FIXTURES / "wnut17"


def _datasets_dir() -> Path:
    if os.environ.get("LABELPORT_DATASETS"):
        return Path(os.environ["LABELPORT_DATASETS"])
    return ROOT.parent / "shared" / "datasets"


DATASETS = _datasets_dir()
WNUT17 = DATASETS / "wnut17"
WNUT17_TRAIN = WNUT17 / "wnut17train.conll"
WNUT17_DEV = WNUT17 / "emerging.dev.conll"
WNUT17_TEST = WNUT17 / "emerging.test.annotated"
SMS_SPAM = DATASETS / "sms_spam" / "SMSSpamCollection"
SMS_SLICE = FIXTURES / "tables" / "sms_slice.tsv"

def not_available(path: Path) -> str:
    """Why a test of a full dataset skips: where it looked, and how to point it elsewhere."""
    return f"dataset not available: {path} (the full sets live in ../shared/datasets beside the repository, or LABELPORT_DATASETS)"


# for @pytest.mark.parametrize("source", SMS_SOURCES): the slice, and the full set (skips when absent)
SMS_SOURCES = [
    pytest.param(SMS_SLICE, id="slice"),
    pytest.param(SMS_SPAM, id="full", marks=pytest.mark.skipif(not SMS_SPAM.exists(), reason=not_available(SMS_SPAM))),
]


def dataset_params(paths: dict[str, Path], *names: str, full: Collection[str]) -> list:
    """For @pytest.mark.parametrize: one param a source name, the name its id;
    the names in ``full`` (full sets) skip when absent, a slice never does."""
    return [
        pytest.param(
            name,
            id=name,
            marks=[pytest.mark.skipif(not paths[name].exists(), reason=not_available(paths[name]))]
            if name in full
            else [],
        )
        for name in names
    ]


def run_cli(*args: object, cwd: str | Path | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """Run ``python -m labelport ARGS`` in a subprocess: (returncode, stdout, stderr).

    Output is decoded as UTF-8 strictly, so a mangled message fails loudly.
    """
    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.pop("PYTHONWARNINGS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "labelport", *map(str, args)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(not_available(path))
    return path


@pytest.fixture(name="run_cli")
def run_cli_fixture():
    """The :func:`run_cli` helper, as a fixture."""
    return run_cli


@pytest.fixture
def places(tmp_path):
    """Where an adversarial case runs (tests/hostile.py): (input folder,
    OUT's parent, OUT); OUT's parent starts empty."""
    inputs, work = tmp_path / "in", tmp_path / "work"
    inputs.mkdir()
    work.mkdir()
    return inputs, work, work / "OUT"


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    return _need(DATASETS)


@pytest.fixture(scope="session")
def wnut17_dir() -> Path:
    return _need(WNUT17)


@pytest.fixture(scope="session")
def wnut17_train() -> Path:
    """The full WNUT-17 training file (3,394 sentences); skips when absent."""
    return _need(WNUT17_TRAIN)


@pytest.fixture(scope="session")
def wnut17_dev() -> Path:
    """The full WNUT-17 dev file (1,009 sentences, emoji, zero-width characters); skips when absent."""
    return _need(WNUT17_DEV)


@pytest.fixture(scope="session")
def wnut17_test() -> Path:
    return _need(WNUT17_TEST)


@pytest.fixture(scope="session")
def sms_spam() -> Path:
    return _need(SMS_SPAM)


@pytest.fixture(scope="session")
def wnut17_fixtures() -> Path:
    """tests/fixtures/wnut17: small slices that ship with the tests."""
    return WNUT17_FIXTURES


@pytest.fixture
def progress_bars(monkeypatch) -> list:
    """The progress counters of the conversions the test runs, one each."""
    from labelport.conversion import pipeline
    from labelport.progress import Progress

    bars: list[Progress] = []

    class Recorded(Progress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(pipeline, "Progress", Recorded)
    return bars
