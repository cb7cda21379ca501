"""Gemini supervised-tuning JSONL: ``gemini_tuning.jsonl``.

One line per example: ``{"systemInstruction": {"role": "system", "parts":
[{"text": ...}]}, "contents": [{"role": "user", "parts": [{"text": <text>}]},
{"role": "model", "parts": [{"text": <answer>}]}]}``. Classification (row
and document labeling): the answer is the label, or a JSON list of labels
for a multi-label question. Extraction (token labeling): one line per line
of text, the answer a JSON array of ``{"text", "type"}`` entities. This is
what Vertex AI tunes Gemini on, the path Google recommends in place of
AutoML text (see converters/README.md for the choices made and how to
start a tuning job).

    labelport convert export.zip -f CUSTOM --transformer gemini_tuning \
        --split train=0.9,validation=0.1 -o out/gemini
"""

import json

from labelport.formats.transformers import chat_examples

FILE = "gemini_tuning.jsonl"


def transform_project(documents, project=None):
    lines = []
    for system, user, answer in chat_examples(documents, project):
        example = {
            "systemInstruction": {"role": "system", "parts": [{"text": system}]},
            "contents": [
                {"role": "user", "parts": [{"text": user}]},
                {"role": "model", "parts": [{"text": answer}]},
            ],
        }
        lines.append(json.dumps(example, ensure_ascii=False) + "\n")
    return {FILE: "".join(lines).encode("utf-8")}
