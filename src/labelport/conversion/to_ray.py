"""``labelport.to_ray``: a project as Ray Data datasets, one per split, for a
Ray Train script to read a labeled project directly.

The rows, columns and ClassLabel names are HF_DATASET's (and ``to_hf``'s):
the datasets are read by :class:`labelport.conversion.ray_datasource.ProjectDatasource`,
whose tasks each read a range of the project's files again and write its rows
with HF_DATASET's writer, so nothing holds the whole project.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError, missing_extra
from ..model import Project

if TYPE_CHECKING:
    import ray.data


class RayDatasets(dict[str, "ray.data.Dataset"]):
    """Split name -> ``ray.data.Dataset``, in the order the splits were asked for.

    ``label_names``: column -> its ClassLabel names (``ner_tags``, ``label``
    or ``labels``; ``relations``, its ``label``), id ``i`` being ``label_names[column][i]``; ``features``:
    every column's feature as datasets' ``Features.to_dict()`` has it (also
    in each block's Arrow schema metadata, under ``huggingface``, as in
    HF_DATASET's Parquet files); ``datasources``: split -> the
    :class:`labelport.conversion.ray_datasource.ProjectDatasource` its
    dataset reads (``ray.data.read_datasource(data.datasources["train"],
    override_num_blocks=N)`` reads it in other tasks).
    """

    label_names: dict[str, list[str]]
    features: dict[str, Any]
    datasources: dict[str, Any]


def to_ray(
    project: Project | str | Path,
    split: dict[str, float] | None = None,
    seed: int = 0,
    question: str | None = None,
    *,
    split_by: str | None = None,
    stratify: bool = False,
    ray_address: str | None = None,
) -> RayDatasets:
    """The project as Ray Data datasets, one per split (``train`` only without
    ``split``), split as ``labelport.to_hf`` and ``convert --split`` split it
    (``split_by``, ``stratify``, ``seed``; ``question`` picks the labels of row
    and document labeling), with HF_DATASET's columns, ClassLabel names and
    rows, each split's rows in HF_DATASET's order.

    Nothing is read into memory whole: each dataset reads the project when it
    is consumed, in read tasks that each read a range of its files (every
    dataset reads them all again: iterate one split, or ``materialize()`` the
    ones to reuse). A split that gets no rows is an empty dataset, where
    ``to_hf`` leaves it out (knowing that takes a read of the whole project).
    The ClassLabel names are fixed before any row: the question's options or
    label set 0, else (or when the project has several files, whose spans
    may have labels label set 0 lacks) those found by a first pass over the
    documents, as HF_DATASET makes one; a token-labeling project's relation
    labels (the ``relations`` column, when it has arrows) always need that
    pass: in Ray tasks, each over a range of the files, like the read tasks
    (so a file that is not what it says is refused here, before any dataset
    is returned).

    ``project`` is a local file, folder or zip, or a project ``labelport.load``
    read from one: each task reads its files again, so a project made in
    memory or fetched from a server (``datasaur://``) is refused (UsageError)
    rather than held in one task. Ray joins the cluster at ``ray_address``
    (else ``RAY_ADDRESS``, else a local Ray for this process) unless this
    process has joined one; a cluster's nodes need the input at the same path.

    A Ray Train loop finds the label names on the result::

        data = labelport.to_ray("export.zip", split={"train": 0.9, "test": 0.1}, seed=13)
        names = data.label_names["ner_tags"]
        num_labels, id2label = len(names), dict(enumerate(names))
        trainer = TorchTrainer(train_loop, datasets={"train": data["train"]},
                               train_loop_config={"num_labels": num_labels, "id2label": id2label})
        # in train_loop: ray.train.get_dataset_shard("train").iter_torch_batches(...)
    """
    try:
        import ray  # (extra: labelport[ray]; a missing one is named by missing_extra below)
        import ray.data  # (extra: labelport[ray])
    except ImportError:
        raise missing_extra("ray", "ray", "to_ray") from None
    from ..formats.base import Context  # (start-up: loads the format base)
    from ..formats.registry import get_format  # (start-up: as above)
    from ..progress import Progress  # (start-up: as above)
    from ..report import Report  # (start-up: as above)
    from ..targets.hf.features import to_json  # (start-up: loaded with the writer)
    from ..targets.hf.writer import (  # (start-up: loads the format base)
        HfDatasetOptions,
        arrow_schema,
        check_split_names,
        names_to_find,
        row_features,
        with_found,
    )
    from . import _ORIGINS, load
    from .pipeline import check_kinds  # (start-up: loads orjson, zipfile and the format base)
    from .ray_datasource import ProjectDatasource, find_names  # (extra: labelport[ray])
    from .ray_engine import Origin, RayChunks, shared_by_tasks  # (start-up: only to_ray and --engine ray need it)
    from .splitting import make_splitter  # (start-up: as pipeline)

    if not isinstance(project, Project):
        project = load(project)
    origin = _ORIGINS.get(id(project))
    if origin is None:
        raise UsageError("to_ray reads the project again in each task: give a local file, folder or zip "
                         "or an s3://, gs:// or az:// URL (or a project labelport.load read from one)",
                         file=project.source)
    fmt = get_format("HF_DATASET")
    check_kinds(fmt, project)
    options = HfDatasetOptions(question=question)
    splitter, split_plan = make_splitter(project, fmt, options, split, seed, split_by, stratify)
    check_split_names(splitter.names)
    report = Report(project.source, fmt.id, {"split": splitter.shares or None, "seed": seed})
    report.split_plan = split_plan
    ctx = Context(project, report, splitter, options, Progress("", enabled=False))
    import pyarrow as pa  # (extra: labelport[ray] brings pyarrow)

    engine = RayChunks(Origin(*origin), ray_address)
    engine.connect()
    shared = shared_by_tasks(project, ctx)
    files = [part.source or "" for part in project.parts] if project.parts else [project.source or ""]
    cpus = engine.tasks()
    names, find = names_to_find(project, ctx)
    if find is not None:
        found = find_names(find, engine.origin, shared, files, cpus) if project.parts else [find(project)]
        names = with_found(project, names, found)
    features = row_features(project, ctx, names)
    schema = arrow_schema(pa, features)
    result = RayDatasets()
    result.features = {name: to_json(f) for name, f in features}
    result.label_names = {}
    for name, f in features:
        inner = f[1] if f[0] == "list" else f  # (ner_tags and labels: a list of ClassLabel; relations: of structs)
        if inner[0] == "struct":
            inner = dict(inner[1]).get("label", inner)
        if inner[0] == "class_label":
            result.label_names[name] = list(inner[1])
    context = ray.data.DataContext.get_current()
    preserve_order = context.execution_options.preserve_order
    context.execution_options.preserve_order = True  # (a Dataset keeps a copy of the context it was made in)
    try:
        result.datasources = {}
        for name in splitter.names:
            source = ProjectDatasource(engine.origin, shared, files, names, name, schema, cpus)
            result.datasources[name] = source
            result[name] = ray.data.read_datasource(source)
    finally:
        context.execution_options.preserve_order = preserve_order
    return result
