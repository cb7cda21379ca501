"""Vertex AI (GCP_VERTEX_AI_CSV): the import JSONL and the CSV that lists it."""
