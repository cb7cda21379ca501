"""Floor for HF_DATASET (token labeling): pyarrow writing the same table,
``data/train-00000-of-00001.parquet``, record batches of 5,000 rows, columns
``id`` (``<document id>:<line>``), ``text``, ``tokens``, ``ner_tags`` (IOB2
ClassLabel ids: ``O``, then ``B-``/``I-`` of each label) and ``spans``
(``start``, ``end``, ``label``), with the ``huggingface`` schema metadata
that names the ClassLabels. The labels are the project's label set 0 (a
DATASAUR_SCHEMA folder: its first file's) or, from CoNLL, the sorted labels
of a first pass. No dataset card: the table is the work.

    python hf_dataset.py INPUT OUT   (INPUT: a CoNLL file or a DATASAUR_SCHEMA folder)
"""

import json
import os
import sys


class NoPandas:
    """pyarrow.array() on Python lists imports pandas (0.3 s, 40 MB) only to
    ask whether they are pandas objects; labelport avoids that too."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            raise ImportError("pandas is not needed to write a table")


sys.meta_path.insert(0, NoPandas())
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from _common import arguments, conll_sentences, datasaur_documents, print_hashes, token_lines  # noqa: E402

BATCH_ROWS = 5_000

source, out = arguments()
if os.path.isdir(source):
    first = next(datasaur_documents(source))
    labels = [item["labelName"] for item in first["labelSets"][0]["labelItems"]]
else:
    labels = sorted({tag[2:] for _, tags in conll_sentences(source) for tag in tags if tag != "O"})
tags = ["O", *(prefix + label for label in labels for prefix in ("B-", "I-"))]
tag_id = {tag: i for i, tag in enumerate(tags)}


def value(dtype):
    return {"dtype": dtype, "_type": "Value"}


features = {
    "id": value("string"),
    "text": value("string"),
    "tokens": {"feature": value("string"), "_type": "Sequence"},
    "ner_tags": {"feature": {"names": tags, "_type": "ClassLabel"}, "_type": "Sequence"},
    "spans": [{"start": value("int64"), "end": value("int64"), "label": value("string")}],
}
span_type = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string())])
schema = pa.schema(
    [("id", pa.string()), ("text", pa.string()), ("tokens", pa.list_(pa.string())),
     ("ner_tags", pa.list_(pa.int64())), ("spans", pa.list_(span_type))],
    metadata={"huggingface": json.dumps({"info": {"features": features}}, ensure_ascii=False)},
)

os.makedirs(os.path.join(out, "data"), exist_ok=True)
columns = {name: [] for name in schema.names}
with pq.ParquetWriter(os.path.join(out, "data", "train-00000-of-00001.parquet"), schema) as writer:
    def flush():
        writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=schema))
        for values in columns.values():
            values.clear()

    for document_id, _, lines in token_lines(source):
        for index, text, tokens, spans in lines:
            ner_tags = [0] * len(tokens)
            for _, _, label, first, last in spans:
                ner_tags[first] = tag_id["B-" + label]
                for i in range(first + 1, last + 1):
                    ner_tags[i] = tag_id["I-" + label]
            columns["id"].append(f"{document_id}:{index}")
            columns["text"].append(text)
            columns["tokens"].append(tokens)
            columns["ner_tags"].append(ner_tags)
            columns["spans"].append([{"start": start, "end": end, "label": label} for start, end, label, _, _ in spans])
            if len(columns["id"]) == BATCH_ROWS:
                flush()
    if columns["id"]:
        flush()
print_hashes(out)
