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
Arrows (relations) are not written; the report counts them as not carried
(``gemini_tuning_relations`` writes them).

    labelport convert export.zip -f CUSTOM --transformer gemini_tuning \
        --split train=0.9,validation=0.1 -o out/gemini
"""

from labelport.formats.transformers import arrows_not_carried, chat_examples, gemini_tuning_jsonl

FILE = "gemini_tuning.jsonl"


def transform_project(documents, project=None):
    return {FILE: gemini_tuning_jsonl(chat_examples(documents, project))}


def relations_not_carried(document):
    return arrows_not_carried(document, "gemini_tuning_relations")
