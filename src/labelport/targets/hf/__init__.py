"""The Hugging Face Hub (HF_DATASET): parquet shards and the dataset card's features."""
