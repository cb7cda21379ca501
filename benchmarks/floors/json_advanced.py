"""Floor for JSON_ADVANCED: one ``<document>.json`` per document,
``{"sentences", "labelerInfo", "labels", "labelSets", "comments"}``, sentences
one per line, then the labels (spans in Datasaur's cell/token/char
coordinates, end character inclusive), then the label sets.

From CoNLL, a span's id is made as labelport makes it,
``<line>:<first token>-<last token>:<layer>:<label>``, each label is its own
labelSetItemId and the label set lists the labels in the order met. From a
DATASAUR_SCHEMA folder, span entries keep their ids and label set items, and
every document gets the project's label sets (those of its first file).

    python json_advanced.py INPUT OUT   (INPUT: a CoNLL file or a DATASAUR_SCHEMA folder)
"""

import os

import orjson

from _common import arguments, conll_sentences, datasaur_documents, entities, file_name, print_hashes, spans_by_line


def write_document(path, sentences, label_sets=None):
    """``sentences`` yields (sentence, its label entries); the labels follow
    the sentences in the file. Without ``label_sets``, one of the labels met."""
    labels, count = [], 0
    with open(path, "wb") as fh:
        fh.write(b'{"sentences":[')
        for sentence, entries in sentences:
            fh.write((b",\n" if count else b"\n") + orjson.dumps(sentence))
            count += 1
            labels += entries
        fh.write(b"\n]" if count else b"]")
        fh.write(b',\n"labelerInfo":null,\n"labels":')
        fh.write(b"[\n" + b",\n".join(map(orjson.dumps, labels)) + b"\n]" if labels else b"[]")
        if label_sets is None:
            names = dict.fromkeys(entry["labelName"] for entry in labels)
            items = [{"id": name, "labelName": name, "parentId": None, "color": None} for name in names]
            label_sets = [{"index": 0, "id": None, "name": "Label set 1", "labelItems": items}]
        fh.write(b',\n"labelSets":' + orjson.dumps(label_sets) + b',\n"comments":[]}\n')


def datasaur_sentences(data):
    by_line = spans_by_line(data)
    for cell in data["cells"]:
        sentence = {"id": cell["line"], "content": cell["content"], "tokens": cell["tokens"],
                    "metadata": cell["metadata"] or []}
        yield sentence, [{"id": entry["id"], "type": "SPAN", **entry} for entry in by_line.get(cell["line"], ())]


def conll_sentences_with_labels(path):
    for index, (tokens, tags) in enumerate(conll_sentences(path)):
        sentence = {"id": index, "content": " ".join(tokens), "tokens": tokens, "metadata": []}
        yield sentence, [
            {
                "id": f"{index}:{first}-{last}:0:{label}", "type": "SPAN", "layer": 0,
                "labelSetItemId": label, "labelName": label,
                "startCellLine": index, "startTokenIndex": first, "startCharIndex": 0,
                "endCellLine": index, "endTokenIndex": last, "endCharIndex": len(tokens[last]) - 1,
                "labeledBy": None, "labeledByUserId": None, "status": None,
            }
            for first, last, label in entities(tags)
        ]


source, out = arguments()
if os.path.isdir(source):
    project_label_sets = None
    for data in datasaur_documents(source):
        if project_label_sets is None:
            project_label_sets = data["labelSets"]
        path = os.path.join(out, file_name(data["document"]["name"], ".json"))
        write_document(path, datasaur_sentences(data), project_label_sets)
else:
    write_document(os.path.join(out, file_name(os.path.basename(source), ".json")), conll_sentences_with_labels(source))
print_hashes(out)
