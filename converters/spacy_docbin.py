"""spaCy DocBin: ``train.spacy``; with ``--split``, each split's file named
for it (``train/train.spacy``, ``dev/dev.spacy``, ``test/test.spacy``), for
``spacy train --paths.train train/train.spacy --paths.dev dev/dev.spacy``.

Token labeling: one Doc per line of text, its words the line's tokens (a
space after a token when the text has white space there) and its ``ents``
the spans of label set 0 (not CONFLICT), each widened to the tokens it
touches; a span overlapping one already kept is left out, as spaCy allows
no overlapping entities. Row and document labeling: one Doc per labeled row
or document, tokenized by ``spacy.blank("xx")``, with ``cats`` 1.0 for its
labels and 0.0 for every other label (the project's: the question's options
and the labels met anywhere in the project, the same in every split). A
document with tokens gives only its lines' Docs. Needs spaCy (``pip install
spacy``).

    labelport convert wnut17train.conll -f CUSTOM --transformer spacy_docbin -o out/spacy
"""

from labelport.formats.transformers import (
    DOCUMENT_BASED,
    ROW_BASED,
    TOKEN_BASED,
    LabelNames,
    classification_examples,
    entities,
    entities_by_id,
    line_relations,
    token_starts,
)

FILE = "train.spacy"  # without --split; with it, <split>.spacy
LANG = "xx"  # spaCy's multi-language tokenizer, for classification texts
REL = ("._.", "rel", None, None)  # where spaCy keeps doc._.rel in doc.user_data


def transform_project(documents, project=None):
    try:
        import spacy
        from spacy.tokens import Doc, DocBin, Span
    except ImportError as exc:
        raise ImportError('spacy_docbin needs spaCy: pip install "labelport[spacy]"') from exc
    nlp = spacy.blank(LANG)
    docs, classified, related, seen = [], [], [], LabelNames()
    for data in documents:
        if project is None:
            seen.add(data)
        kinds = data.get("kinds", ())
        if TOKEN_BASED in kinds:
            lines = doc_lines(data)
            by_line = line_relations(data, entities_by_id(lines))[0] if data.get("arrowLabels") else {}
            for cell, ents in lines:
                doc = line_doc(nlp.vocab, Doc, Span, cell, ents)
                docs.append(doc)
                related.append((doc, by_line.get(cell["line"], ())))
        elif ROW_BASED in kinds or DOCUMENT_BASED in kinds:
            for text, answer in classification_examples(data):
                doc = nlp.make_doc(text)
                docs.append(doc)
                classified.append((doc, answer))
    labels = seen.classes if project is None else project["classes"]
    for doc, answer in classified:  # every Doc scores every label
        doc.cats = {label: float(label in answer) for label in labels}
    with_relations = bool(seen.relation_types if project is None else project["relationTypes"])
    if with_relations:  # every line's Doc, so that each pair of its entities has an entry
        for doc, relations in related:
            doc.user_data[REL] = relation_table(doc, relations)
    split = None if project is None else project["split"]
    return {FILE if split is None else f"{split}.spacy": DocBin(docs=docs, store_user_data=with_relations).to_bytes()}


def relations_not_carried(document):
    return line_relations(document, entities_by_id(doc_lines(document)))[1]


def doc_lines(data):
    """Each cell line with the entities its Doc holds: spaCy allows no
    overlapping entities, so in order of start (the longest first), each
    overlapping one already kept is left out."""
    lines = []
    for cell, found in entities(data):
        ents, last = [], -1
        for entity in sorted(found, key=lambda e: (e["startToken"], -e["endToken"])):
            if entity["startToken"] > last:
                ents.append(entity)
                last = entity["endToken"]
        lines.append((cell, ents))
    return lines


def line_doc(vocab, Doc, Span, cell, ents):
    tokens, starts, content = cell["tokens"], token_starts(cell), cell["content"]
    ends = [start + len(token) for start, token in zip(starts, tokens)]
    spaces = [end < (starts[i + 1] if i + 1 < len(tokens) else len(content)) for i, end in enumerate(ends)]
    doc = Doc(vocab, words=tokens, spaces=spaces)
    doc.ents = [Span(doc, e["startToken"], e["endToken"] + 1, label=e["label"]) for e in ents]
    return doc


def relation_table(doc, relations):
    """doc._.rel: (head start, tail start) -> {label: 1.0}, {} for every other pair of distinct entities."""
    starts = [ent.start for ent in doc.ents]
    table = {(head, tail): {} for head in starts for tail in starts if head != tail}
    for head, label, tail in relations:
        table.setdefault((head["startToken"], tail["startToken"]), {})[label] = 1.0
    return table
