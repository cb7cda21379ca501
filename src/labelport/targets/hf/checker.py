"""Hugging Face datasets / Hub rules, checked on the files of a dataset folder.

What ``datasets.load_dataset(FOLDER)`` (or the Hub) needs, read from the
files alone (no datasets import, no network):

- ``README.md`` with YAML front matter; its ``configs`` ``data_files``
  patterns each match a file, and every Parquet file is matched by one;
- every Parquet file opens, and its columns' Arrow types fit the features;
- the features in the files' ``huggingface`` schema metadata agree with the
  card's ``dataset_info`` (ClassLabel names included), and with each other
  within a config;
- ClassLabel values lie in [-1, number of names) (-1: no label); in token
  classification every row has as many tags as tokens, and each relation's
  ``head`` and ``tail`` index one of the row's ``spans``;
- split names are valid, shard file names ``<split>-NNNNN-of-NNNNN`` name
  the split they are listed under and are complete, no split is empty, and
  the card's ``num_examples`` are the rows on disk.

All of these are hard: ``load_dataset`` would fail or mislabel. Soft (not
ready for training): no validation or test split; no ``configs`` (datasets
then guesses splits from file names); no features declared anywhere.

Every Parquet file is read in record batches, only the columns a check
needs, so memory stays flat whatever the size. A folder of labelport's
``--role LABELER`` output (``DOCUMENT-*/``) or an export-all zip is checked
dataset by dataset.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import missing_extra
from ...report import Finding
from ...validate.findings import Findings
from ...validate.walk import Folder, files_below, hidden, walk
from .features import (
    METADATA_KEY,
    Feature,
    FeatureError,
    arrow_mismatch,
    difference,
    feature_paths,
    from_metadata,
    from_yaml_list,
)
from .layout import DATA, HUB_SHARD_NAME, README, SPLIT_NAME

EVAL_SPLITS = {"validation", "valid", "val", "dev", "test", "eval", "evaluation"}


# -- the card -------------------------------------------------------------------

#: What a checker is told: rule, message, hard, the file (relative to the
#: dataset folder) and the line.
Find = Callable[..., None]


def read_card(root: Path, find: Find) -> dict[str, Any] | None:
    """The card's metadata (its YAML front matter), or None when there is none to read."""
    path = root / README
    if not path.is_file():
        find("card", "no README.md dataset card (configs, dataset_info)", True, README)
        return None
    try:  # (extra: labelport[hf])
        import yaml
    except ImportError:
        raise missing_extra("PyYAML", "hf", "validate --target hf") from None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        find("card", "README.md is not UTF-8", True, README)
        return None
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].rstrip() != "---":
        find("card", "README.md has no YAML front matter (a first line ---)", True, README, 1)
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if end is None:
        find("card", "the YAML front matter is not closed by a line ---", True, README, 1)
        return None
    try:
        metadata = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        find("card", f"the YAML front matter does not parse: {problem}", True, README, line)
        return None
    if not isinstance(metadata, dict):
        find("card", "the YAML front matter is not a mapping", True, README, 2)
        return None
    return metadata


@dataclass
class Config:
    name: str
    data_files: list[tuple[str, list[str]]]  # (split, patterns)
    info: dict[str, Any] | None = None


def _configs(metadata: dict[str, Any], find: Find) -> list[Config] | None:
    raw = metadata.get("configs")
    if raw is None:
        return None
    if not isinstance(raw, list):
        find("card", "configs is not a list", True, README)
        return []
    configs = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            find("card", f"configs[{i}] is not a mapping", True, README)
            continue
        config_name = str(entry.get("config_name", "default"))
        data_files = entry.get("data_files")
        pairs: list[tuple[str, list[str]]] = []
        if data_files is None:
            find("card", f"config {config_name!r} has no data_files", True, README)
        elif isinstance(data_files, (str, list)) and (
            isinstance(data_files, str) or all(isinstance(x, str) for x in data_files)
        ):
            pairs.append(("train", [data_files] if isinstance(data_files, str) else list(data_files)))
        elif isinstance(data_files, list):
            for item in data_files:
                if not isinstance(item, dict) or "split" not in item or "path" not in item:
                    find("card", f"config {config_name!r}: a data_files entry without split and path: {item!r}", True, README)
                    continue
                path = item["path"]
                pairs.append((str(item["split"]), [path] if isinstance(path, str) else [str(p) for p in path]))
        elif isinstance(data_files, dict):
            for split, path in data_files.items():
                pairs.append((str(split), [path] if isinstance(path, str) else [str(p) for p in path]))
        else:
            find("card", f"config {config_name!r}: data_files is neither a path, a list nor a mapping", True, README)
        configs.append(Config(config_name, pairs))
    return configs


def _infos(metadata: dict[str, Any], configs: list[Config], find: Find) -> None:
    raw = metadata.get("dataset_info")
    if raw is None:
        return
    entries = raw if isinstance(raw, list) else [raw]
    by_name: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            find("card", "a dataset_info entry is not a mapping", True, README)
            continue
        by_name[str(entry.get("config_name", "default"))] = entry
    for config in configs:
        info = by_name.get(config.name)
        if info is None and len(configs) == 1 and len(by_name) == 1:
            info = next(iter(by_name.values()))
        config.info = info


# -- files ----------------------------------------------------------------------

def _parquet_files(folder: Folder, root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in files_below(folder, root) if path.suffix == ".parquet")


def _matches(root: Path, pattern: str) -> list[str] | None:
    """Files ``pattern`` matches under ``root`` (None: not a local pattern)."""
    if "://" in pattern or pattern.startswith("/") or ".." in PurePosixPath(pattern).parts:
        return None
    while pattern.startswith("./"):
        pattern = pattern[2:]
    found = []
    for path in root.glob(pattern):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not hidden(rel):
            found.append(rel)
    return sorted(found)


# -- checking one dataset folder ----------------------------------------------------

class _Check:
    def __init__(self, folder: Folder, root: Path, rel: str, out: Findings):
        try:  # (extra: labelport[hf])
            import pyarrow as pa
            import pyarrow.compute as pc
            import pyarrow.parquet as pq
        except ImportError:
            raise missing_extra("pyarrow", "hf", "validate --target hf") from None
        self.pa, self.pc, self.pq = pa, pc, pq
        self.folder = folder
        self.root = root
        self.rel = rel  # prefix of file names in findings
        self.out = out

    def find(self, rule: str, message: str, hard: bool = True, file: str | None = None, line: int | None = None) -> None:
        self.out.add(rule, message, hard, f"{self.rel}{file}" if file else (self.rel.rstrip("/") or None), line)

    def run(self) -> None:
        metadata = read_card(self.root, self.find)
        card_name = README
        parquet = _parquet_files(self.folder, self.root)
        if metadata is None:
            if not parquet:
                self.find("data_files", "no Parquet files")
            for file in parquet:
                self.check_files([file], None, "?")
            return
        configs = _configs(metadata, self.find)
        if configs is None:
            self.find("configs", "the card has no configs: datasets guesses the splits from the file names", False, card_name)
            configs = [Config("default", self.guess_splits(parquet))]
        _infos(metadata, configs, self.find)
        matched: set[str] = set()
        for config in configs:
            self.check_config(config, matched)
        for file in parquet:
            if file not in matched:
                self.find("data_files", "no configs/data_files pattern of the card matches this file", True, file)

    def guess_splits(self, parquet: list[str]) -> list[tuple[str, list[str]]]:
        splits: dict[str, list[str]] = {}
        for file in parquet:
            m = HUB_SHARD_NAME.match(PurePosixPath(file).name)
            split = m["split"] if m else "train"
            splits.setdefault(split, []).append(file)
        return list(splits.items())

    def check_config(self, config: Config, matched: set[str]) -> None:
        card = README
        label = f"config {config.name!r}"
        features = None
        expected: dict[str, int] | None = None
        if config.info is not None:
            if config.info.get("features") is not None:
                try:
                    features = from_yaml_list(config.info["features"])
                except FeatureError as exc:
                    self.find("features", f"{label}: dataset_info features: {exc}", True, card)
                    features = None
                else:
                    self.check_class_labels(features, card, label)
            raw_splits = config.info.get("splits")
            if raw_splits is not None:
                # datasets checks num_examples only when every entry is whole;
                # otherwise it ignores the splits (with a logged warning)
                whole = isinstance(raw_splits, list) and all(
                    isinstance(e, dict) and "name" in e and isinstance(e.get("num_examples"), int) and "num_bytes" in e
                    for e in raw_splits
                )
                if whole:
                    expected = {str(e["name"]): e["num_examples"] for e in raw_splits}
                else:
                    self.find("splits", f"{label}: dataset_info splits lack name, num_bytes or num_examples: datasets ignores them", False, card)
        else:
            self.find("features", f"{label}: the card has no dataset_info: features come from the files alone", False, card)
        splits_seen = []
        for split, patterns in config.data_files:
            splits_seen.append(split)
            if not SPLIT_NAME.match(split):
                self.find("split", f"{label}: {split!r} is not a valid split name (letters, digits and _, parts joined by .)", True, card)
            files: list[str] = []
            for pattern in patterns:
                found = _matches(self.root, pattern)
                if found is None:
                    self.find("data_files", f"{label}, split {split!r}: {pattern!r} is not a path inside the folder; not checked", False, card)
                    continue
                if not found:
                    self.find("data_files", f"{label}, split {split!r}: data_files pattern {pattern!r} matches no file", True, card)
                files += [f for f in found if f not in files]
            matched.update(files)
            rows = self.check_split(split, files, features, label)
            if rows == 0 and files:
                self.find("split", f"{label}: split {split!r} has no rows (datasets cannot load an empty split)", True, card)
            if expected is not None and rows is not None:
                if split not in expected:
                    self.find("splits", f"{label}: split {split!r} is missing from dataset_info splits", True, card)
                elif expected[split] != rows:
                    self.find("splits", f"{label}: dataset_info says split {split!r} has {expected[split]:,} examples; the files hold {rows:,}", True, card)
        if expected is not None:
            for split in expected:
                if split not in splits_seen:
                    self.find("splits", f"{label}: dataset_info lists split {split!r}, which no data_files entry gives", True, card)
        if len(set(splits_seen)) != len(splits_seen):
            self.find("split", f"{label}: a split is listed twice in data_files", True, card)
        if splits_seen and not any(s.lower() in EVAL_SPLITS for s in splits_seen):
            self.find(
                "split",
                f"{label}: no validation or test split, so training has nothing to evaluate on "
                "(labelport convert --split train=0.8,validation=0.1,test=0.1)",
                False,
                card,
            )

    def check_class_labels(self, features: dict[str, Feature], file: str, label: str) -> None:
        for path, f in feature_paths(features):
            if f[0] == "class_label":
                names = f[1]
                if len(set(names)) != len(names):
                    dupes = sorted({n for n in names if names.count(n) > 1})
                    self.find("features", f"{label}: ClassLabel {path!r} repeats names {dupes}", True, file)

    def check_split(self, split: str, files: list[str], card_features: dict[str, Feature] | None, label: str) -> int | None:
        shards: dict[int, set[int]] = {}
        for file in files:
            if not file.endswith(".parquet"):
                self.find("data_files", f"{label}, split {split!r}: not a Parquet file; not checked", False, file)
                continue
            m = HUB_SHARD_NAME.match(PurePosixPath(file).name)
            if m:
                if m["split"] != split:
                    self.find("split", f"the file name names split {m['split']!r}, but the card lists it under {split!r}", True, file)
                shards.setdefault(int(m["count"]), set()).add(int(m["index"]))
        if len(shards) > 1:
            self.find("shards", f"split {split!r}: shard names disagree on the count of shards ({sorted(shards)})", True, README)
        for count, indices in shards.items():
            missing = sorted(set(range(count)) - indices)
            if missing:
                self.find("shards", f"split {split!r}: shard(s) {missing} of {count} missing", True, README)
            if any(i >= count for i in indices):
                self.find("shards", f"split {split!r}: a shard index is not below the shard count {count}", True, README)
        return self.check_files([f for f in files if f.endswith(".parquet")], card_features, split)

    def check_files(self, files: list[str], card_features: dict[str, Feature] | None, split: str) -> int | None:
        """Rows in ``files`` (None if a file could not be read)."""
        total: int | None = 0
        reference: tuple[str, dict[str, Feature] | None, list[str]] | None = None
        for file in files:
            rows = self.check_file(file, card_features)
            if rows is None:
                total = None
                continue
            n, file_features, columns = rows
            if total is not None:
                total += n
            if reference is None:
                reference = (file, file_features, columns)
            elif columns != reference[2]:
                self.find("schema", f"split {split!r}: columns {columns} differ from {reference[2]} in {reference[0]}", True, file)
            elif card_features is None and file_features is not None and reference[1] is not None:
                why = difference(reference[1], file_features)
                if why:
                    self.find("features", f"split {split!r}: features differ from {reference[0]}: {why}", True, file)
        if card_features is None and reference is not None and reference[1] is None:
            self.find("features", f"split {split!r}: no features in the card or the files: ClassLabel names are unknown", False, reference[0])
        return total

    def check_file(self, file: str, card_features: dict[str, Feature] | None):
        try:
            parquet = self.pq.ParquetFile(self.root / file, pre_buffer=False, buffer_size=1 << 20)
        except Exception as exc:  # pyarrow raises several kinds
            self.find("parquet", f"not a readable Parquet file: {exc}", True, file)
            return None
        try:
            return self._check_file(parquet, file, card_features)
        finally:
            parquet.close()

    def _check_file(self, parquet: Any, file: str, card_features: dict[str, Feature] | None):
        pa = self.pa
        schema = parquet.schema_arrow
        columns = list(schema.names)
        file_features = None
        meta = (schema.metadata or {}).get(METADATA_KEY)
        if meta is not None:
            try:
                file_features = from_metadata(meta)
            except (ValueError, AttributeError) as exc:
                self.find("features", f"the huggingface schema metadata does not parse: {exc}", True, file)
                file_features = None
        if card_features is not None and file_features is not None:
            why = difference(card_features, file_features)
            if why:
                self.find("features", f"the file's features disagree with the card's dataset_info: {why}", True, file)
        features = card_features if card_features is not None else file_features
        if features is not None:
            missing = [n for n in features if n not in columns]
            extra = [n for n in columns if n not in features]
            if missing or extra:
                self.find("schema", f"columns {columns} do not match the features {list(features)}", True, file)
            for name, f in features.items():
                if name in columns:
                    why = arrow_mismatch(f, schema.field(name).type, pa)
                    if why:
                        self.find("schema", f"column {name!r}: {why}", True, file)
            if file_features is not None and card_features is None:
                self.check_class_labels(file_features, file, "the file's features")
        rows = self.check_rows(parquet, file, features or {}, columns)
        if rows is None:
            return None
        return rows, file_features, columns

    def check_rows(self, parquet: Any, file: str, features: dict[str, Feature], columns: list[str]) -> int | None:
        pa, pc = self.pa, self.pc
        labels = {
            name: f for name, f in features.items()
            if name in columns and any(sub[0] == "class_label" for _, sub in feature_paths({name: f}))
            and arrow_mismatch(f, parquet.schema_arrow.field(name).type, pa) is None
        }
        tags = [
            name for name in columns
            if name != "tokens" and name.endswith("tags") and "tokens" in columns
            and _is_list(parquet.schema_arrow.field(name).type, pa)
        ]
        if tags and not _is_list(parquet.schema_arrow.field("tokens").type, pa):
            tags = []
        ends = _relation_ends(features, columns, parquet.schema_arrow, pa)
        wanted = list(dict.fromkeys([*labels, *(["tokens", *tags] if tags else []),
                                     *(["spans", "relations"] if ends else [])]))
        offset = 0
        try:
            if not wanted:
                return parquet.metadata.num_rows
            for batch in _batches(parquet, wanted):
                # 1-based row numbers (from a buffer: pyarrow.array on Python
                # objects imports pandas, to ask whether they are pandas')
                numbers = array("q", range(offset + 1, offset + 1 + batch.num_rows))
                rows = pa.Array.from_buffers(pa.int64(), batch.num_rows, [None, pa.py_buffer(numbers)])
                for name, f in labels.items():
                    for path, n, bad_rows, bad_values in _class_label_errors(pa, pc, batch.column(name), f, rows, name):
                        for row, value in zip(bad_rows, bad_values):
                            self.find("class_label", f"{path}: ClassLabel value {value} is outside [-1, {n})", True,
                                      file, row)
                if tags:
                    tokens = pc.list_value_length(batch.column("tokens"))
                    for name in tags:
                        lengths = pc.list_value_length(batch.column(name))
                        # null when both lists are null (fine); a lone null list differs
                        one_null = pc.xor(pc.is_null(tokens), pc.is_null(lengths))
                        differs = pc.or_kleene(pc.not_equal(tokens, lengths), one_null)
                        for i in pc.indices_nonzero(differs).to_pylist():
                            self.find("tokens", f"{tokens[i].as_py()} tokens but {lengths[i].as_py()} {name}", True,
                                      file, offset + i + 1)
                for end in ends:
                    for row, value, n in _ends_outside_spans(pa, pc, batch, end, offset):
                        self.find("relations", f"relations[].{end}: {value} is not an index of the row's {n} spans",
                                  True, file, row)
                offset += batch.num_rows
        except Exception as exc:
            self.find("parquet", f"reading the rows failed after row {offset}: {exc}", True, file)
            return None
        return offset


#: the fields of a relations row that index the row's spans
RELATION_ENDS = ("head", "tail")


def _relation_ends(features: dict[str, Feature], columns: list[str], schema: Any, pa: Any) -> tuple[str, ...]:
    """The relations column's fields that index ``spans``, when the file has both
    columns as the features declare them (a mismatch is a finding of its own)."""
    if not {"spans", "relations"} <= set(columns) or not {"spans", "relations"} <= set(features):
        return ()
    if any(arrow_mismatch(features[name], schema.field(name).type, pa) for name in ("spans", "relations")):
        return ()
    inner = features["relations"][1]
    if features["relations"][0] != "list" or inner[0] != "struct":
        return ()
    fields = dict(inner[1])
    return tuple(end for end in RELATION_ENDS if end in fields and fields[end] == ("value", "int64"))


def _ends_outside_spans(pa: Any, pc: Any, batch: Any, end: str, offset: int) -> Iterator[tuple[int, Any, int]]:
    """(row, value, spans in the row) of each relation whose ``end`` is no index
    of its row's spans (or is missing); rows 1-based, counted from ``offset``."""
    relations = batch.column("relations")
    parents = pc.list_parent_indices(relations)
    values = pc.struct_field(pc.list_flatten(relations), end)
    spans = pc.fill_null(pc.list_value_length(batch.column("spans")), _int(pa, 0)).take(parents)
    outside = pc.or_kleene(pc.or_kleene(pc.less(values, _int(pa, 0)), pc.greater_equal(values, spans)),
                           pc.is_null(values))
    for i in pc.indices_nonzero(pc.fill_null(outside, True)).to_pylist():
        yield offset + parents[i].as_py() + 1, values[i].as_py(), spans[i].as_py()


def _is_list(t: Any, pa: Any) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _int(pa: Any, value: int) -> Any:
    """An int64 scalar (pa.scalar would import pandas)."""
    return pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(array("q", [value]))])[0]


def _class_label_errors(pa: Any, pc: Any, array: Any, f: Feature, rows: Any, path: str):
    """(path, number of names, rows, values) of ClassLabel values out of range."""
    kind, arg = f
    if kind == "class_label":
        n = len(arg)
        bad = pc.or_(pc.less(array, _int(pa, -1)), pc.greater_equal(array, _int(pa, n)))
        idx = pc.indices_nonzero(bad)  # nulls (no value) are skipped
        if len(idx):
            yield path, n, rows.take(idx).to_pylist(), array.take(idx).to_pylist()
    elif kind in ("list", "large_list"):
        parents = pc.list_parent_indices(array)
        yield from _class_label_errors(pa, pc, pc.list_flatten(array), arg, rows.take(parents), path + "[]")
    elif kind == "struct":
        for name, sub in arg:
            if any(s[0] == "class_label" for _, s in feature_paths({name: sub})):
                yield from _class_label_errors(pa, pc, pc.struct_field(array, name), sub, rows, f"{path}.{name}")


# -- entry point ----------------------------------------------------------------

def _roots(folder: Folder, depth: int = 4) -> list[Path]:
    """Dataset folders: the folder itself if it holds a card or data, else the
    highest folders below it (at most ``depth`` down) that do (labelport's
    DOCUMENT-*/, export-all trees)."""
    marked: set[PurePosixPath] = set()  # relative to the folder
    for path in folder.files:
        rel = PurePosixPath(folder.rel(path))
        if path.name == README or path.suffix == ".parquet":
            marked.add(rel.parent)
        marked.update(parent.parent for parent in rel.parents if parent.name == DATA)
    return [folder.path / root for root in sorted(marked)
            if len(root.parts) <= depth and not any(parent in marked for parent in root.parents)]


def check(folder: Path) -> list[Finding]:
    out = Findings()
    walk(Path(folder), lambda files: _check_datasets(files, out), f"{README} dataset card or {DATA}/ folder")
    return out.done()


def _check_datasets(folder: Folder, out: Findings) -> bool:
    """Check each dataset folder in ``folder``; whether there was any."""
    roots = _roots(folder)
    for root in roots:
        rel = "" if root == folder.path else folder.rel(root) + "/"
        _Check(folder, root, folder.prefix + rel, out).run()
    return bool(roots)


def _batches(parquet: Any, columns: list[str]) -> Iterator[Any]:
    """The columns' record batches, read as a stream of small batches in one
    thread: peak memory stays flat however large the file (reading whole row
    groups, or reading ahead, grows it)."""
    return parquet.iter_batches(batch_size=1_000, columns=columns, use_threads=False)
