"""Where a Hugging Face dataset folder keeps what, said once for the writer,
the checker and :mod:`labelport.conversion.to_hf`: the card, the data folder,
split names and shard file names.
"""

from __future__ import annotations

import re

#: the dataset card (YAML front matter: configs, dataset_info)
README = "README.md"
#: the folder of the Parquet shards
DATA = "data"

#: Split names datasets accepts (datasets.splits.NamedSplit).
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")

_SHARD = r"^(?P<split>.+?)-(?P<index>\d{5})-of-(?P<count>\d{5})"
#: a shard as labelport names it (:func:`shard_name`)
SHARD_NAME = re.compile(_SHARD + r"\.parquet$")
#: a shard as labelport or the Hub names it (the Hub adds a ``-<hash>`` to shards it writes)
HUB_SHARD_NAME = re.compile(_SHARD + r"(?:-[0-9a-f]+)?\.parquet$")


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def split_files(split: str) -> str:
    """The card's ``data_files`` pattern of a split's shards."""
    return f"{DATA}/{split}-*"
