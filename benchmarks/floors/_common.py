"""What every floor shares: reading the two token shapes, and the hashes.

A floor is the smallest correct program for one conversion: it reads the
same input as ``labelport convert`` with the standard library (and orjson),
writes the same bytes, then prints ``{"<file relative to OUT>": "<sha256>"}``
for every file it wrote. It checks nothing and reports nothing: whatever
labelport spends beyond this is labelport's overhead.

Two token shapes are read:

* a CoNLL/IOB file, ``token<TAB>tag`` lines, a line that is empty or only
  white space between sentences (WNUT-17 mostly uses a lone tab), one
  document named after the file;
* a DATASAUR_SCHEMA project: a folder of ``{"version", "data"}`` files, one
  document each, read in sorted order (labelport-report.json is not data).
"""

from __future__ import annotations

import hashlib
import os
import sys
from itertools import accumulate

REPORT = "labelport-report.json"


# -- CoNLL ----------------------------------------------------------------------

def conll_sentences(path):
    """(tokens, tags) of each sentence, streamed line by line."""
    tokens, tags = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.isspace():
                if tokens:
                    yield tokens, tags
                    tokens, tags = [], []
                continue
            parts = line.rstrip("\n").split("\t")
            tokens.append(parts[0])
            tags.append(parts[-1])
    if tokens:
        yield tokens, tags


def iob2(tags):
    """The tags as IOB2: an ``I-X`` that does not continue an X starts one."""
    if tags.count("O") == len(tags):
        return tags
    fixed, previous = [], ""
    for tag in tags:
        if tag[:2] == "I-" and previous != tag[2:]:
            tag = "B-" + tag[2:]
        fixed.append(tag)
        previous = tag[2:]
    return fixed


def entities(tags):
    """[first token, last token, label] of each entity of IOB tags."""
    found, label = [], None
    for i, tag in enumerate(tags):
        if tag == "O":
            label = None
        elif tag[:2] == "I-" and tag[2:] == label:
            found[-1][1] = i
        else:
            label = tag[2:]
            found.append([i, i, label])
    return found


def token_starts(tokens):
    """Where each token starts in ``" ".join(tokens)``."""
    starts = list(accumulate([len(token) + 1 for token in tokens], initial=0))
    starts.pop()
    return starts


def conll_spans(tokens, tags):
    """(start, end, label, first token, last token) of each entity, start and
    end in code points of the line's text (tokens joined by spaces)."""
    found = entities(tags)
    if not found:
        return []
    starts = token_starts(tokens)
    return [(starts[a], starts[b] + len(tokens[b]), label, a, b) for a, b, label in found]


# -- DATASAUR_SCHEMA ------------------------------------------------------------

def datasaur_documents(folder):
    """The ``data`` of each document file, in the order labelport reads them."""
    import orjson

    for name in sorted(os.listdir(folder)):
        if name == REPORT or name.startswith("."):
            continue
        with open(os.path.join(folder, name), "rb") as fh:
            yield orjson.loads(fh.read())["data"]


def spans_by_line(data):
    """The document's span entries grouped by their (start) line."""
    by_line = {}
    for entry in data["spanLabels"]:
        by_line.setdefault(entry["startCellLine"], []).append(entry)
    return by_line


def content_starts(content, tokens):
    """Where each token starts in a cell's content (tokens occur in order)."""
    starts, position = [], 0
    for token in tokens:
        position = content.index(token, position)
        starts.append(position)
        position += len(token)
    return starts


def cell_spans(cell, entries):
    """(start, end, label, first token, last token) of a cell's spans, in
    token order, start and end in code points of its content."""
    if not entries:
        return []
    starts = content_starts(cell["content"], cell["tokens"])
    entries = sorted(entries, key=lambda e: (e["startTokenIndex"], -e["endTokenIndex"]))
    return [
        (
            starts[e["startTokenIndex"]] + e["startCharIndex"],
            starts[e["endTokenIndex"]] + e["endCharIndex"] + 1,
            e["labelName"],
            e["startTokenIndex"],
            e["endTokenIndex"],
        )
        for e in entries
    ]


def entry_tags(n_tokens, entries):
    """IOB2 tags from a cell's span entries (token indices only)."""
    tags = ["O"] * n_tokens
    for entry in entries or ():
        label, first = entry["labelName"], entry["startTokenIndex"]
        tags[first] = "B-" + label
        for i in range(first + 1, entry["endTokenIndex"] + 1):
            tags[i] = "I-" + label
    return tags


def tagged_sentences(source):
    """(document name, iterator of (tokens, IOB2 tags)) of each document of
    either shape."""
    if os.path.isdir(source):
        for data in datasaur_documents(source):
            by_line = spans_by_line(data)
            sentences = (
                (cell["tokens"], entry_tags(len(cell["tokens"]), by_line.get(cell["line"])))
                for cell in data["cells"]
            )
            yield data["document"]["name"], sentences
    else:
        sentences = ((tokens, iob2(tags)) for tokens, tags in conll_sentences(source))
        yield os.path.basename(source), sentences


def token_lines(source):
    """(document id, document name, [(line index, text, tokens, spans), ...]
    as an iterator) of each document of either shape; spans as conll_spans."""
    if os.path.isdir(source):
        for data in datasaur_documents(source):
            by_line = spans_by_line(data)
            document = data["document"]
            lines = (
                (cell["line"], cell["content"], cell["tokens"], cell_spans(cell, by_line.get(cell["line"])))
                for cell in data["cells"]
            )
            yield document["id"], document["name"], lines
    else:
        name = os.path.basename(source)
        lines = (
            (index, " ".join(tokens), tokens, conll_spans(tokens, tags))
            for index, (tokens, tags) in enumerate(conll_sentences(source))
        )
        yield name, name, lines


# -- the result -------------------------------------------------------------------

def file_name(name, extension):
    """``<document name><extension>``, as labelport names per-document files."""
    return name if name.endswith(extension) else name + extension


def print_hashes(out):
    """Print the sha256 of every file under ``out``, by relative path."""
    import json

    hashes = {}
    for folder, _, files in os.walk(out):
        for name in files:
            path = os.path.join(folder, name)
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            hashes[os.path.relpath(path, out).replace(os.sep, "/")] = digest.hexdigest()
    json.dump(dict(sorted(hashes.items())), sys.stdout)
    sys.stdout.write("\n")


def arguments():
    """INPUT OUT from the command line; OUT is created."""
    if len(sys.argv) != 3:
        sys.exit(f"usage: {os.path.basename(sys.argv[0])} INPUT OUT")
    source, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    return source, out
