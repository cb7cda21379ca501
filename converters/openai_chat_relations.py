"""OpenAI chat fine-tuning JSONL for relation extraction: ``openai_chat_relations.jsonl``.

The lines of openai_chat (``{"messages": [system, user, assistant]}``), one
per line of text of each token-labeling document; the assistant's answer is
a JSON array of ``{"head", "relation", "tail"}``, head and tail the text of
the two entities an arrow joins on that line, and the system instruction
names the project's relation labels and entity types. Arrows it cannot
carry (across lines, to a CONFLICT span, …) are counted in the report's
not_carried (see converters/README.md).

    labelport convert export.zip -f CUSTOM --transformer openai_chat_relations \
        --split train=0.9,validation=0.1 -o out/openai-relations
"""

from labelport.formats.transformers import openai_chat_jsonl, relation_examples, relations_not_carried

FILE = "openai_chat_relations.jsonl"


def transform_project(documents, project=None):
    return {FILE: openai_chat_jsonl(relation_examples(documents, project))}


# relations_not_carried, imported above: labelport asks it which arrows the file leaves out
__all__ = ["transform_project", "relations_not_carried"]
