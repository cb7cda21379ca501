"""OpenAI chat fine-tuning JSONL: ``openai_chat.jsonl``.

One line per example: ``{"messages": [{"role": "system", "content": ...},
{"role": "user", "content": <text>}, {"role": "assistant", "content":
<answer>}]}``, with the same examples as gemini_tuning: the label (a JSON
list for a multi-label question) for row and document labeling, a JSON array
of ``{"text", "type"}`` entities per line of text for token labeling.
Arrows (relations) are not written; the report counts them as not carried
(``openai_chat_relations`` writes them).

    labelport convert export.zip -f CUSTOM --transformer openai_chat \
        --split train=0.9,validation=0.1 -o out/openai
"""

from labelport.formats.transformers import arrows_not_carried, chat_examples, openai_chat_jsonl

FILE = "openai_chat.jsonl"


def transform_project(documents, project=None):
    return {FILE: openai_chat_jsonl(chat_examples(documents, project))}


def relations_not_carried(document):
    return arrows_not_carried(document, "openai_chat_relations")
