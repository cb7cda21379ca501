"""The Hugging Face Hub (HF_DATASET): parquet shards, the dataset card's features, and `to_hf`."""
