"""HF_DATASET's relations column against awkward arrows: each either carried
or counted under its reason, asserted on the output read back; the work on
thousands of arrows stays linear. None of these is refused: an arrow is a
valid part of its file, and what the dataset cannot hold is counted (and is
an error with --strict, as every loss)."""

from __future__ import annotations

import json
import time

import pytest

pq = pytest.importorskip("pyarrow.parquet")

from test_hf_relations import END_UNKNOWN, arrow, not_carried, schema_file, span

TOKENS = [["Ada", "met", "Charles"], ["Paris", "is", "big"]]


def convert(places, run_cli, arrows: list[dict], spans: list[dict] | None = None,
            lines: list[list[str]] = TOKENS, *args: str) -> tuple[int, str, list[dict]]:
    inputs, _, out = places
    spans = spans if spans is not None else [span("s1", "PER", 0, 0, 0), span("s2", "PER", 0, 2, 2)]
    (inputs / "doc.json").write_text(json.dumps(schema_file("doc", lines, spans, arrows)), encoding="utf-8")
    code, _, stderr = run_cli("convert", inputs / "doc.json", "-f", "HF_DATASET", "-o", out, *args, timeout=300)
    rows = [row for shard in sorted((out / "data").glob("*.parquet")) for row in pq.read_table(shard).to_pylist()]
    return code, stderr, rows


@pytest.mark.parametrize("end", ["origin", "target"])
def test_an_end_that_names_no_span_is_counted(places, run_cli, end: str) -> None:
    ends = {"origin": "s1", "target": "s2", end: "nowhere"}
    code, stderr, rows = convert(places, run_cli, [arrow("r1", "KNOWS", ends["origin"], ends["target"]),
                                                   arrow("r2", "KNOWS", "s1", "s2")])
    assert code == 0, stderr
    assert [row["relations"] for row in rows] == [[{"head": 0, "tail": 1, "label": 0}], []]  # r2 alone
    assert not_carried(places[2]) == {END_UNKNOWN: 1}
    assert f"{END_UNKNOWN}: 1" in stderr


def test_an_end_that_names_no_span_fails_strict(places, run_cli) -> None:
    code, stderr, _ = convert(places, run_cli, [arrow("r1", "KNOWS", "s1", "nowhere")], None, TOKENS, "--strict")
    assert code == 1 and END_UNKNOWN in stderr


def test_an_arrow_to_its_own_span_is_carried(places, run_cli) -> None:
    code, stderr, rows = convert(places, run_cli, [arrow("r1", "SELF", "s2", "s2")])
    assert code == 0, stderr
    assert rows[0]["relations"] == [{"head": 1, "tail": 1, "label": 0}]
    assert not_carried(places[2]) == {}


def test_thousands_of_arrows_on_one_span(places, run_cli) -> None:
    """20,000 arrows from one span: 10,000 to a span of its line (each carried,
    in the source's order), 10,000 to the next line's (counted); the
    conversion's time grows with the arrows, not with their square."""
    n = 10_000
    spans = [span("s1", "PER", 0, 0, 0), span("s2", "PER", 0, 2, 2), span("p", "MACHINE", 1, 0, 0)]
    arrows = [arrow(f"a{i}", f"L{i % 7}", "s1", "s2" if i < n else "p") for i in range(2 * n)]
    started = time.monotonic()
    code, stderr, rows = convert(places, run_cli, arrows, spans)
    assert code == 0, stderr
    assert time.monotonic() - started < 30  # (under a second here; the square of 20,000 would take minutes)
    names = sorted({f"L{i}" for i in range(7)})
    assert rows[0]["relations"] == [{"head": 0, "tail": 1, "label": names.index(f"L{i % 7}")} for i in range(n)]
    assert rows[1]["relations"] == []
    assert not_carried(places[2]) == {
        "relations between spans of different lines (a row's relations index its own spans)": n}
