"""Vertex AI (GCP_VERTEX_AI_CSV): the import JSONL and the CSV that lists it.

- :mod:`.rules`: what the import expects, once: file names, schema URIs, ml_use names, limits.
- :mod:`.writer`: writes the import files and their ImportDataConfig.
- :mod:`.checker`: checks import files on disk, labelport's or another tool's.
"""
