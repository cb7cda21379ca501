"""``labelport.to_hf``: a project as a ``datasets.DatasetDict``.

The project is written in HF_DATASET into a temporary folder (the same
writer, the same checks) and loaded back with ``datasets.load_dataset
("parquet", ...)``, so the DatasetDict has exactly the features and rows of
the files ``labelport convert -f HF_DATASET`` writes. Nothing touches the
network: only the local Parquet files are read.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import missing_extra
from ..model import Project
from ..targets.hf.layout import SHARD_NAME
from . import load

if TYPE_CHECKING:
    import datasets


def to_hf(
    project: Project | str | Path,
    split: dict[str, float] | None = None,
    seed: int = 0,
    question: str | None = None,
    *,
    split_by: str | None = None,
    stratify: bool = False,
    cache_dir: str | Path | None = None,
) -> "datasets.DatasetDict":
    """The project as a DatasetDict, one Dataset per split (``train`` only
    without ``split``), split as ``labelport convert --split`` would
    (``split_by`` and ``stratify`` as ``--split-by`` and ``--stratify``).

    Token labeling gives ``id``, ``text``, ``tokens``, ``ner_tags`` (Sequence
    of ClassLabel, IOB2, ``O`` first) and ``spans``; row and document
    labeling give ``id``, ``text`` and ``label`` (ClassLabel) or ``labels``
    (Sequence of ClassLabel), the labels being the answers to ``question``
    (default: the project's first). What the dataset cannot carry is named in
    a warning (as ``convert`` names it on stderr).

    The data is held in memory; with ``cache_dir`` it stays there as
    memory-mapped Arrow files instead, for projects larger than memory.
    """
    try:
        import datasets  # (extra: labelport[hf]; a missing one is named by missing_extra below)
    except ImportError:
        raise missing_extra("datasets", "hf", "to_hf") from None
    from ..targets.hf.writer import HfDatasetOptions  # (start-up: loads the format base and splits)
    from .pipeline import run_conversion  # (start-up: as in labelport.conversion.convert)

    if not isinstance(project, Project):
        project = load(project)
    tmp = Path(tempfile.mkdtemp(prefix="labelport-hf-"))
    progress_bars = datasets.is_progress_bar_enabled()
    try:
        out = tmp / "dataset"
        report = run_conversion(
            project,
            "HF_DATASET",
            out,
            split=split,
            seed=seed,
            split_by=split_by,
            stratify=stratify,
            options=HfDatasetOptions(question=question),
            progress=False,
        )
        for what, loss in report.losses.items():
            warnings.warn(f"labelport: not carried by HF_DATASET: {loss.count:,} {what}", stacklevel=2)
        data_files = _split_files(out / "data", list(split) if split else ["train"])
        if progress_bars:
            datasets.disable_progress_bars()
        return datasets.load_dataset(
            "parquet",
            data_files=data_files,
            cache_dir=str(cache_dir) if cache_dir is not None else str(tmp / "cache"),
            keep_in_memory=cache_dir is None,
        )
    finally:
        if progress_bars:
            datasets.enable_progress_bars()
        shutil.rmtree(tmp, ignore_errors=True)


def _split_files(folder: Path, order: list[str]) -> dict[str, list[str]]:
    """Split name -> its shards, in the order the splits were asked for
    (a split that got no rows has no shard and is left out)."""
    splits: dict[str, list[str]] = {name: [] for name in order}
    for path in sorted(folder.glob("*.parquet")):
        match = SHARD_NAME.match(path.name)
        if match:
            splits.setdefault(match["split"], []).append(str(path))
    return {name: files for name, files in splits.items() if files}
