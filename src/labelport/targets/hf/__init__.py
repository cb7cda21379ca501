"""The Hugging Face Hub (HF_DATASET): parquet shards and the dataset card's features.

- :mod:`.layout`: where a dataset folder keeps what, once: the card, the data folder, split and shard names.
- :mod:`.features`: the datasets feature model: built and rendered by the writer (schema metadata, card YAML),
  parsed and compared by the checker.
- :mod:`.writer`: writes the shards and the dataset card.
- :mod:`.checker`: checks a dataset folder on disk, labelport's or the Hub's.
"""
