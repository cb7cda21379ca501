"""Floor for GCP_VERTEX_AI_CSV (entity extraction): ``vertex_dataset.jsonl``,
one ``{"textContent", "textSegmentAnnotations"}`` line per line (offsets in
code points, end exclusive), ``vertex_import.csv`` and ``vertex_dataset.json``.

    python gcp_vertex.py INPUT OUT   (INPUT: a CoNLL file or a DATASAUR_SCHEMA folder)
"""

import os

import orjson

from _common import arguments, print_hashes, token_lines

SCHEMA = "gs://google-cloud-aiplatform/schema/dataset/ioformat/text_extraction_io_format_1.0.0.yaml"

source, out = arguments()
with open(os.path.join(out, "vertex_dataset.jsonl"), "wb") as fh:
    for _, _, lines in token_lines(source):
        for _, text, _, spans in lines:
            annotations = [{"startOffset": start, "endOffset": end, "displayName": label} for start, end, label, _, _ in spans]
            fh.write(orjson.dumps({"textContent": text, "textSegmentAnnotations": annotations}) + b"\n")
with open(os.path.join(out, "vertex_import.csv"), "w", encoding="utf-8", newline="") as fh:
    fh.write("vertex_dataset.jsonl\n")
with open(os.path.join(out, "vertex_dataset.json"), "wb") as fh:
    manifest = {"importSchemaUri": SCHEMA, "gcsSource": {"uris": ["vertex_dataset.jsonl"]}}
    fh.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
print_hashes(out)
