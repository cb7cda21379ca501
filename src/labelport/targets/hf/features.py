"""The datasets feature model, one shape for the writer and the checker.

A feature is a tuple::

    ("value", dtype) | ("class_label", (name, ...)) | ("list", f) | ("large_list", f)
    | ("struct", ((name, f), ...)) | ("other", type name)

The writer builds its columns' features with :func:`class_label`,
:func:`list_of`, :func:`struct` and renders them into the Parquet schema's
``huggingface`` metadata (:func:`schema_metadata`, datasets'
``Features.to_dict()``) and the dataset card's ``dataset_info.features``
(:func:`to_yaml_list`, datasets' ``Features._to_yaml_list``). The checker
parses both back into the same shape (:func:`from_metadata`,
:func:`from_yaml_list`) and compares them (:func:`difference`) and the Arrow
types on disk (:func:`arrow_mismatch`).

``Sequence`` and ``List`` are one ``list`` here: datasets reads both the same
way. A parsed struct keeps its fields in name order (datasets compares them as
dicts, whatever their order); a built one keeps the order it is given, the
order of the Arrow struct's fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

Feature = tuple[str, Any]

_VALUE_TYPES = {
    "null", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "float", "double", "string", "large_string", "string_view",
    "binary", "large_binary", "date32", "date64",
}
_VALUE_PREFIXES = ("time32", "time64", "timestamp", "duration", "decimal128", "decimal256")
_ALIASES = {"float": "float32", "double": "float64"}

#: the Parquet schema metadata key datasets keeps its features under
METADATA_KEY = b"huggingface"


class FeatureError(ValueError):
    pass


# -- building -----------------------------------------------------------------------------

def value(dtype: str) -> Feature:
    """A ``Value`` of ``dtype`` (its canonical name); ``other`` for a dtype datasets does not know."""
    if dtype in _VALUE_TYPES or dtype.startswith(_VALUE_PREFIXES):
        return ("value", _ALIASES.get(dtype, dtype))
    return ("other", dtype)


STRING = value("string")
INT64 = value("int64")


def class_label(names: Iterable[str]) -> Feature:
    return ("class_label", tuple(names))


def list_of(f: Feature) -> Feature:
    return ("list", f)


def struct(fields: Iterable[tuple[str, Feature]]) -> Feature:
    return ("struct", tuple(fields))


def _parsed_struct(fields: dict[str, Feature]) -> Feature:
    return struct(sorted(fields.items()))


# -- rendering (the writer) ---------------------------------------------------------------

def to_json(f: Feature) -> Any:
    """The feature as ``Features.to_dict()`` writes it, in the form every
    datasets version reads (``Sequence`` for lists of values, ``[{...}]`` for
    lists of structs)."""
    kind, arg = f
    if kind == "value":
        return {"dtype": arg, "_type": "Value"}
    if kind == "class_label":
        return {"names": list(arg), "_type": "ClassLabel"}
    if kind == "list":
        return [to_json(arg)] if arg[0] == "struct" else {"feature": to_json(arg), "_type": "Sequence"}
    if kind == "struct":
        return {name: to_json(sub) for name, sub in arg}
    raise ValueError(f"{describe(f)} is not rendered")


def to_yaml_list(features: Iterable[tuple[str, Feature]]) -> list[dict[str, Any]]:
    """Named features as a dataset card's ``dataset_info.features`` holds them."""
    return [{"name": name, **_to_yaml(f)} for name, f in features]


def _to_yaml(f: Feature) -> dict[str, Any]:
    kind, arg = f
    if kind == "value":
        return {"dtype": arg}
    if kind == "class_label":
        return {"class_label": {"names": {str(i): name for i, name in enumerate(arg)}}}
    if kind == "list":
        if arg[0] == "struct":
            return {"list": to_yaml_list(arg[1])}
        inner = _to_yaml(arg)
        return {"sequence": inner["dtype"] if list(inner) == ["dtype"] else inner}
    raise ValueError(f"{describe(f)} is not rendered")


def schema_metadata(features: Iterable[tuple[str, Feature]]) -> dict[bytes, bytes]:
    """The Parquet schema metadata that gives ``load_dataset`` the features."""
    info = {"info": {"features": {name: to_json(f) for name, f in features}}}
    return {METADATA_KEY: json.dumps(info, ensure_ascii=False).encode("utf-8")}


def arrow_type(pa: Any, f: Feature) -> Any:
    """The Arrow type the writer stores the feature as."""
    kind, arg = f
    if kind == "value":
        return pa.type_for_alias(arg)
    if kind == "class_label":
        return pa.int64()
    if kind == "list":
        return pa.list_(arrow_type(pa, arg))
    if kind == "struct":
        return pa.struct([(name, arrow_type(pa, sub)) for name, sub in arg])
    raise ValueError(f"{describe(f)} is not rendered")


# -- parsing (the checker) ----------------------------------------------------------------

def from_json(obj: Any) -> Feature:
    """A feature as ``Features.to_dict()`` / the ``huggingface`` metadata hold it."""
    if isinstance(obj, list):
        if len(obj) != 1:
            raise FeatureError(f"a list feature holds {len(obj)} features, not 1")
        return ("list", from_json(obj[0]))
    if not isinstance(obj, dict):
        raise FeatureError(f"not a feature: {obj!r}")
    kind = obj.get("_type")
    if not isinstance(kind, str):
        return _parsed_struct({str(k): from_json(v) for k, v in obj.items()})
    if kind == "Value":
        return value(str(obj.get("dtype")))
    if kind == "ClassLabel":
        names = obj.get("names")
        if names is None and isinstance(obj.get("num_classes"), int):
            names = [str(i) for i in range(obj["num_classes"])]
        if not isinstance(names, list):
            raise FeatureError("a ClassLabel without names")
        return class_label(str(n) for n in names)
    if kind in ("Sequence", "List", "LargeList"):
        if "feature" not in obj:
            raise FeatureError(f"a {kind} without feature")
        inner = from_json(obj["feature"])
        if kind == "LargeList":
            return ("large_list", inner)
        if kind == "Sequence" and inner[0] == "struct":  # legacy: a dict of lists
            return _parsed_struct({name: ("list", f) for name, f in inner[1]})
        return ("list", inner)
    return ("other", kind)


def from_metadata(meta: bytes) -> dict[str, Feature] | None:
    """The features in a Parquet schema's ``huggingface`` metadata (None: it
    declares none). Raises ValueError (FeatureError, JSONDecodeError) or
    AttributeError when it does not parse."""
    info = json.loads(meta)
    raw = info.get("info", {}).get("features") if isinstance(info, dict) else None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise FeatureError("features is not a mapping")
    return {str(k): from_json(v) for k, v in raw.items()}


def _yaml_names(names: Any) -> tuple[str, ...]:
    if isinstance(names, list):
        return tuple(str(n) for n in names)
    if isinstance(names, dict):
        try:
            ids = sorted(names, key=int)
        except (TypeError, ValueError):
            raise FeatureError("class_label names are keyed by something other than integers") from None
        if [int(i) for i in ids] != list(range(len(ids))):
            raise FeatureError("class_label names miss some ids (they must be 0, 1, 2, ...)")
        return tuple(str(names[i]) for i in ids)
    raise FeatureError("class_label without names")


def from_yaml_list(entries: Any) -> dict[str, Feature]:
    """The card's ``dataset_info.features`` (datasets' ``_from_yaml_list``)."""
    if not isinstance(entries, list):
        raise FeatureError("features is not a list")
    out: dict[str, Feature] = {}
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry:
            raise FeatureError(f"a feature without a name: {entry!r}")
        entry = dict(entry)
        name = str(entry.pop("name"))
        out[name] = _from_yaml(entry)
    return out


def _from_yaml_inner(obj: Any) -> Feature:
    """What follows ``list:``/``sequence:``: a dtype, a feature, or named fields."""
    if isinstance(obj, str):
        return value(obj)
    if isinstance(obj, list):
        return _parsed_struct(from_yaml_list(obj))
    if isinstance(obj, dict):
        return _from_yaml(obj)
    raise FeatureError(f"not a feature: {obj!r}")


def _from_yaml(obj: dict[str, Any]) -> Feature:
    if not obj:
        return _parsed_struct({})
    key = next(iter(obj))
    inner = obj[key]
    if key == "large_list":
        return ("large_list", _from_yaml_inner(inner))
    if key == "list":
        return ("list", _from_yaml_inner(inner))
    if key == "sequence":
        f = _from_yaml_inner(inner)
        if isinstance(inner, list):  # legacy: a dict of lists
            return _parsed_struct({name: ("list", sub) for name, sub in f[1]})
        return ("list", f)
    if key == "struct":
        return _parsed_struct(from_yaml_list(inner))
    if key == "dtype":
        return value(inner) if isinstance(inner, str) else _from_yaml_inner(inner)
    if key == "class_label":
        if not isinstance(inner, dict):
            raise FeatureError("class_label is not a mapping")
        return ("class_label", _yaml_names(inner.get("names")))
    return ("other", key)


# -- comparing (the checker) --------------------------------------------------------------

def describe(f: Feature) -> str:
    kind, arg = f
    if kind == "value":
        return f"Value({arg})"
    if kind == "class_label":
        return f"ClassLabel(names={list(arg)})"
    if kind in ("list", "large_list"):
        return f"{'List' if kind == 'list' else 'LargeList'}({describe(arg)})"
    if kind == "struct":
        return "{" + ", ".join(f"{name}: {describe(sub)}" for name, sub in arg) + "}"
    return arg


def difference(a: dict[str, Feature], b: dict[str, Feature]) -> str | None:
    """The first way ``a`` and ``b`` differ, in words, or None."""
    if list(a) != list(b):
        missing = [n for n in a if n not in b]
        extra = [n for n in b if n not in a]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"columns {missing} missing")
            if extra:
                parts.append(f"columns {extra} added")
            return ", ".join(parts)
    for name in a:
        if a[name] != b[name]:
            return f"column {name!r}: {describe(a[name])} vs {describe(b[name])}"
    return None


def feature_paths(features: dict[str, Feature], prefix: str = "") -> Iterator[tuple[str, Feature]]:
    """Every feature and the features inside it, with its path (``spans[].label``)."""
    for name, f in features.items():
        path = f"{prefix}{name}"
        yield path, f
        while f[0] in ("list", "large_list"):
            f = f[1]
            path += "[]"
            yield path, f
        if f[0] == "struct":
            yield from feature_paths(dict(f[1]), path + ".")


def arrow_mismatch(f: Feature, t: Any, pa: Any) -> str | None:
    """Why the Arrow type ``t`` cannot hold the feature ``f``, or None."""
    kind, arg = f
    types = pa.types
    if kind == "class_label":
        return None if types.is_integer(t) else f"ClassLabel stored as {t}, not integers"
    if kind == "value":
        if arg in ("string", "large_string", "string_view"):
            ok = types.is_string(t) or types.is_large_string(t) or getattr(types, "is_string_view", lambda _: False)(t)
        elif arg.startswith(("int", "uint")):
            ok = types.is_integer(t)
        elif arg.startswith("float"):
            ok = types.is_floating(t) or types.is_integer(t)
        elif arg == "bool":
            ok = types.is_boolean(t)
        else:
            return None
        return None if ok else f"{describe(f)} stored as {t}"
    if kind == "list":
        if not (types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t)):
            return f"a list stored as {t}"
        return arrow_mismatch(arg, t.value_type, pa)
    if kind == "large_list":
        if not types.is_large_list(t):
            return f"a large list stored as {t}"
        return arrow_mismatch(arg, t.value_type, pa)
    if kind == "struct":
        if not types.is_struct(t):
            return f"a struct stored as {t}"
        names = {t.field(i).name: t.field(i).type for i in range(t.num_fields)}
        for name, sub in arg:
            if name not in names:
                return f"struct field {name!r} missing"
            why = arrow_mismatch(sub, names[name], pa)
            if why:
                return f"{name}: {why}"
    return None
