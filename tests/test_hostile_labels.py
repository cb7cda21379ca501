"""Hostile transformers meeting ``project`` (transform_project's split and
label names, issue 13 item 2): each is refused as tests/hostile.py defines
it (exit 2, one line, nothing written), and labelport's own error is never
lost inside a transformer that swallows it."""

from __future__ import annotations

import pytest

try:  # tests/ may be a package or a plain folder
    from .conftest import WNUT17_FIXTURES, run_cli
except ImportError:
    from conftest import WNUT17_FIXTURES, run_cli  # type: ignore[no-redef]
from hostile import assert_refused

WNUT_HEAD = WNUT17_FIXTURES / "wnut17train.head.conll"
SPLIT = ("--split", "train=0.5,test=0.5")

#: name -> (transformer source, what the one line must say)
TRANSFORMERS = {
    # the labels asked for, then a failure: the transformer and its line are named
    "fails_after_labels.py": (
        "def transform_project(documents, project):\n    project['classes']\n    raise RuntimeError('no thanks')\n",
        "RuntimeError: no thanks (at fails_after_labels.py:3)",
    ),
    # a key project does not have: a KeyError in the transformer, not in labelport
    "unknown_key.py": (
        "def transform_project(documents, project):\n    return {'x': project['labelSet']}\n",
        "KeyError: 'labelSet'",
    ),
    # project positional-only: not given (labelport passes it by name); Python says what is missing
    "positional_only.py": (
        "def transform_project(documents, project, /):\n    return {}\n",
        "missing 1 required positional argument: 'project'",
    ),
    # a split's file name built from project['split'] that leaves the folder
    "escapes_by_split.py": (
        "def transform_project(documents, project):\n    list(documents)\n"
        "    return {'../' + project['split'] + '.txt': 'x'}\n",
        "is not a relative path inside the output folder",
    ),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMERS))
def test_a_hostile_transformer_is_refused(places, name: str) -> None:
    inputs, work, out = places
    source, what = TRANSFORMERS[name]
    path = inputs / name
    path.write_text(source, encoding="utf-8")
    result = run_cli("convert", WNUT_HEAD, "-f", "CUSTOM", "--transformer", path, *SPLIT, "-o", out)
    message = assert_refused(*result, work, out)
    assert f"transformer '{path}' failed on" in message
    assert what in message


SWALLOWS = """
def transform_project(documents, project):
    try:
        project["entityTypes"]  # reads the rest of the project ahead: the bad line is met here
    except Exception:
        pass
    return {"x.txt": str(sum(1 for _ in documents))}
"""


def test_labelport_error_met_reading_ahead_is_not_swallowed(places) -> None:
    """The input's error, met while labelport reads ahead for the labels, is
    the one reported (with its file and line), although the transformer caught it."""
    inputs, work, out = places
    good = WNUT_HEAD.read_text(encoding="utf-8").splitlines(keepends=True)[:100]
    project = inputs / "project"
    project.mkdir()
    (project / "a.conll").write_text("".join(good), encoding="utf-8")  # given before the labels are asked for
    bad = project / "b.conll"
    bad.write_text("".join(good) + "a\tb\tc\n\n", encoding="utf-8")
    path = inputs / "swallows.py"
    path.write_text(SWALLOWS, encoding="utf-8")
    result = run_cli("convert", project, "-f", "CUSTOM", "--transformer", path, *SPLIT, "-o", out)
    message = assert_refused(*result, work, out)
    assert message.startswith(f"labelport: error: {bad}:101: ")
    assert "transformer" not in message
