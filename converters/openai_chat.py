"""OpenAI chat fine-tuning JSONL: ``openai_chat.jsonl``.

One line per example: ``{"messages": [{"role": "system", "content": ...},
{"role": "user", "content": <text>}, {"role": "assistant", "content":
<answer>}]}``, with the same examples as gemini_tuning: the label (a JSON
list for a multi-label question) for row and document labeling, a JSON array
of ``{"text", "type"}`` entities per line of text for token labeling.

    labelport convert export.zip -f CUSTOM --transformer openai_chat \
        --split train=0.9,validation=0.1 -o out/openai
"""

import json

from labelport.formats.transformers import chat_examples

FILE = "openai_chat.jsonl"


def transform_project(documents, project=None):
    lines = []
    for system, user, answer in chat_examples(documents, project):
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer},
        ]
        lines.append(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
    return {FILE: "".join(lines).encode("utf-8")}
