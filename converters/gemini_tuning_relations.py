"""Gemini supervised-tuning JSONL for relation extraction: ``gemini_tuning_relations.jsonl``.

The lines of gemini_tuning (``{"systemInstruction", "contents": [user,
model]}``), one per line of text of each token-labeling document; the
model's answer is a JSON array of ``{"head", "relation", "tail"}``, head and
tail the text of the two entities an arrow joins on that line, and the
system instruction names the project's relation labels and entity types.
Arrows it cannot carry (across lines, to a CONFLICT span, …) are counted in
the report's not_carried (see converters/README.md).

    labelport convert export.zip -f CUSTOM --transformer gemini_tuning_relations \
        --split train=0.9,validation=0.1 -o out/gemini-relations
"""

from labelport.formats.transformers import gemini_tuning_jsonl, relation_examples, relations_not_carried

FILE = "gemini_tuning_relations.jsonl"


def transform_project(documents, project=None):
    return {FILE: gemini_tuning_jsonl(relation_examples(documents, project))}


# relations_not_carried, imported above: labelport asks it which arrows the file leaves out
__all__ = ["transform_project", "relations_not_carried"]
