"""Datasaur's JSON files, shared by the readers and the writers of
DATASAUR_SCHEMA and JSON_ADVANCED and by the export layout reader.

``types`` declares the shapes a file is decoded into (msgspec, with JSON
paths in errors); ``pieces`` converts between Datasaur's placement of a label
(line, token, character inside the token) and the model's offsets.

May import: ``labelport.errors``, ``labelport.model``.
"""
