"""The Ray Data datasource behind :func:`labelport.to_ray`: one split of a
project's HF_DATASET rows, read by tasks that each read a range of the
project's files again (:func:`labelport.conversion.ray_engine.read_chunk`,
as ``--engine ray``'s tasks do) and write its rows with HF_DATASET's own
writer (:func:`labelport.targets.hf.writer.write_rows`, with the ClassLabel
names fixed for the whole project beforehand) into a temporary folder of
Parquet, handed on as Arrow tables one record batch at a time.

Importing this module imports Ray (labelport[ray]).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from ..formats.base import Context
from ..model import Project
from ..progress import Progress
from ..targets.hf.writer import Names, write_rows
from . import parallel
from .ray_engine import Origin, fetch_folder, read_chunk
from .ray_engine import _result as task_result


class ProjectDatasource(Datasource):
    """The rows of ``split``: one read task per range of the project's files
    (:func:`labelport.conversion.parallel.chunks` for the parallelism Ray asks,
    at most ``cpus``: 4 tasks a CPU, as ``--engine ray``), each task's rows in
    the order HF_DATASET writes them; the tasks in file order."""

    def __init__(self, origin: Origin, shared: tuple, files: list[str], names: Names, split: str, schema: pa.Schema,
                 cpus: int):
        self.origin = origin
        # (Ray asks 200 tasks of a datasource that cannot tell its size: each reads the project's
        # listing and first file again, so that many would cost more than they read)
        self.cpus = cpus
        self.shared = shared  # ray_engine.shared_by_tasks: the project's header, splitter, options, report
        self.files = files  # the project's files (one: a project of one file)
        self.names = names
        self.split = split
        self.schema = schema

    def get_name(self) -> str:
        return f"labelport_{self.split}"

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[ReadTask]:
        n_parts, spans = file_ranges(self.files, max(1, min(parallelism, self.cpus)))
        return [
            ReadTask(
                partial(read_rows, self.origin, self.shared, lo, hi, n_parts, self.names, self.split, self.schema),
                BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=self.files[lo:hi]),
                schema=self.schema,
                per_task_row_limit=per_task_row_limit,
            )
            for lo, hi in spans
        ]


def file_ranges(files: list[str], tasks: int) -> tuple[int, list[tuple[int, int]]]:
    """The project's parts (0: it is one file, read whole), and the ranges
    ``[lo, hi)`` of its files that ``tasks`` tasks read (:func:`parallel.chunks`)."""
    if len(files) < 2:
        return 0, [(0, 1)]
    return len(files), parallel.chunks(len(files), tasks)


def find_names(find: Callable[[Project], Names], origin: Origin, shared: tuple, files: list[str],
               tasks: int) -> list[Names]:
    """The ClassLabel names ``find`` finds in each range of the project's files,
    found by Ray tasks (:func:`labelport.targets.hf.writer.names_to_find`); what a
    task raised (a file that is not what it says, ...) raised here as it was."""
    import ray  # (extra: labelport[ray])

    n_parts, spans = file_ranges(files, tasks)
    task = ray.remote(_find_in).options(num_cpus=1, max_retries=0)
    header = ray.put(shared[0])
    pending = [task.remote(find, origin, header, lo, hi, n_parts) for lo, hi in spans]
    try:
        return [task_result(ray, ref) for ref in pending]
    except BaseException:
        ray.wait(pending, num_returns=len(pending))  # (not ray.cancel: see ray_engine.RayChunks)
        raise


def _find_in(find: Callable[[Project], Names], origin: Origin, header: Project, lo: int, hi: int,
             n_parts: int) -> Names:
    with tempfile.TemporaryDirectory(prefix="labelport-ray-") as temp:
        return find(read_chunk(origin, header, lo, hi, n_parts, fetch_folder(origin, Path(temp))))


def read_rows(origin: Origin, shared: tuple, lo: int, hi: int, n_parts: int, names: Names, split: str,
              schema: pa.Schema) -> Iterator[pa.Table]:
    """Files ``lo``..``hi`` of ``origin``: their rows of ``split``, a table per
    record batch (an empty one when they hold none, so every block has the schema)."""
    header, splitter, options, report = shared
    with tempfile.TemporaryDirectory(prefix="labelport-ray-") as temp:
        chunk = read_chunk(origin, header, lo, hi, n_parts, fetch_folder(origin, Path(temp)))
        ctx = Context(chunk, report.fresh(), splitter, options, Progress("", enabled=False))
        (Path(temp) / "out").mkdir()
        _, splits, _, _ = write_rows(chunk, Path(temp) / "out", ctx, names, split)
        shards = [file for info in splits if info.name == split and info.rows for file in info.files]
        if not shards:
            yield schema.empty_table()
        for shard in shards:
            for batch in pq.ParquetFile(Path(temp) / "out" / shard).iter_batches():
                yield pa.Table.from_batches([batch]).replace_schema_metadata(schema.metadata)
