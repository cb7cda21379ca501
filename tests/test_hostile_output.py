"""The output guard (labelport.guards.output): nothing is written outside -o, and
nothing the user put in -o is lost.

Each refusal is exit 2 with one ``labelport: error:`` line: through
:func:`hostile.assert_refused` where OUT's folder starts empty, else through
:func:`assert_refused_unchanged`, which holds every file of the test's folder
byte-identical (OUT existed before, or is an input).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli
from hostile import PREFIX, assert_refused

import labelport
from labelport.errors import UsageError
from labelport.guards.output import MARKER, NAME_MAX, REPORT_NAME
from labelport.model import Labeler

CONLL = b"John\tB-person\nlives\tO\n\n"
OTHER_CONLL = b"Mary\tB-person\nsings\tO\n\n"
SCHEMA_DOC = FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9" / "REVIEW" / "chat.txt.json"


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with a file's bytes (None for a folder or link)."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
        for p in sorted(root.rglob("*"))
    }


def assert_refused_unchanged(result: tuple[int, str, str], root: Path, before: dict[str, bytes | None]) -> str:
    """Exit 2, one ``labelport: error:`` line, no traceback, and every path
    under ``root`` as it was. Returns the message."""
    code, stdout, stderr = result
    assert code == 2, (code, stderr)
    assert "Traceback" not in stderr + stdout, stderr
    assert stderr.startswith(PREFIX) and stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert snapshot(root) == before, "something was written, changed or removed"
    return stderr.rstrip("\n")


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def convert(source: Path, out: Path, *extra: object) -> tuple[int, str, str]:
    return run_cli("convert", source, "-f", "TSV_IOB", "-o", out, *extra)


def converted(source: Path, out: Path, *extra: object) -> dict[str, bytes | None]:
    code, _, stderr = convert(source, out, *extra)
    assert code == 0, stderr
    return snapshot(out)


# -- split and --zip names ------------------------------------------------------------

BAD_SPLITS = {
    "dot-dot": "..=0.5,b=0.5",
    "parent": "../x=0.5,b=0.5",
    "absolute": "ABSOLUTE=0.5,b=0.5",  # (a path under the test's folder)
    "nested": "a/b=0.5,b=0.5",
    "backslash": "a\\b=0.5,b=0.5",
    "empty": "=0.5,b=0.5",
    "dot": ".=0.5,b=0.5",
    "control-character": "a\x01b=0.5,b=0.5",
    "drive": "C:x=0.5,b=0.5",
    "space": "my split=0.5,b=0.5",
    "too-long": "s" * 101 + "=0.5,b=0.5",
}


@pytest.mark.parametrize("split", BAD_SPLITS.values(), ids=BAD_SPLITS.keys())
def test_split_name_that_is_not_a_plain_name(places, split):
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    split = split.replace("ABSOLUTE", str(inputs.parent / "elsewhere"))
    message = assert_refused(*convert(source, out, "--split", split), work, out)
    assert "--split" in message, message
    assert sorted(p.name for p in inputs.parent.iterdir()) == ["in", "work"], "written beside OUT"


@pytest.mark.parametrize("name", ["a\x00b", "\x1b[31m", "../x", "/tmp/x"], ids=["nul", "escape", "parent", "absolute"])
def test_split_name_refused_by_the_python_api(places, name):
    """labelport.convert checks the names the CLI's parser never sees (NUL)."""
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    with pytest.raises(UsageError, match="not a plain name"):
        labelport.convert(source, "TSV_IOB", out, split={name: 0.5, "b": 0.5})
    assert list(work.iterdir()) == []


def test_plain_split_names_of_other_scripts_are_folders(places):
    inputs, work, out = places
    source = inputs / "ok.conll"
    source.write_bytes(CONLL + OTHER_CONLL)
    converted(source, out, "--split", "обучение=0.5,test.v2=0.5")
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert set(folders) <= {"обучение", "test.v2"} and folders


@pytest.mark.parametrize("name", ["../evil", "a/b", "/tmp/evil"], ids=["parent", "nested", "absolute"])
def test_zip_name_that_is_not_a_file_name(places, name):
    inputs, work, out = places
    message = assert_refused(
        *run_cli("convert", FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9", "-f", "TSV_IOB", "-o", out, "--zip", name),
        work,
        out,
    )
    assert "--zip" in message and repr(name + ".zip") in message, message


# -- where -o is ----------------------------------------------------------------------


def test_out_is_the_input_file(places):
    inputs, _, _ = places
    source = write(inputs / "ok.conll", CONLL)
    before = snapshot(inputs.parent)
    message = assert_refused_unchanged(convert(source, source), inputs.parent, before)
    assert "is the input" in message, message


def test_out_under_the_input_file(places):
    inputs, _, _ = places
    source = write(inputs / "ok.conll", CONLL)
    before = snapshot(inputs.parent)
    message = assert_refused_unchanged(convert(source, source / "out"), inputs.parent, before)
    assert "is inside the input" in message, message


def test_out_above_the_input_file(places):
    inputs, _, _ = places
    source = write(inputs / "ok.conll", CONLL)
    before = snapshot(inputs.parent)
    message = assert_refused_unchanged(convert(source, inputs), inputs.parent, before)
    assert "holds the input" in message, message


@pytest.mark.parametrize("where", ["same", "inside", "above"])
def test_out_and_an_input_folder(places, where):
    inputs, _, _ = places
    (inputs / "a.conll").write_bytes(CONLL)
    (inputs / "b.conll").write_bytes(OTHER_CONLL)
    out = {"same": inputs, "inside": inputs / "OUT", "above": inputs.parent}[where]
    before = snapshot(inputs.parent)
    assert_refused_unchanged(convert(inputs, out), inputs.parent, before)


@pytest.mark.parametrize("where", ["same", "inside", "above"])
def test_out_and_an_input_zip(places, where):
    inputs, _, _ = places
    archive = inputs / "project.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("project/a.conll", CONLL)
    out = {"same": archive, "inside": archive / "OUT", "above": inputs}[where]
    before = snapshot(inputs.parent)
    assert_refused_unchanged(convert(archive, out), inputs.parent, before)


def test_out_through_a_link_to_the_input_folder(places):
    """Symbolic links are resolved: OUT under a link to the input is inside it."""
    inputs, work, _ = places
    (inputs / "a.conll").write_bytes(CONLL)
    (work / "link").symlink_to(inputs, target_is_directory=True)
    before = snapshot(inputs.parent)
    message = assert_refused_unchanged(convert(inputs, work / "link" / "OUT"), inputs.parent, before)
    assert "is inside the input" in message, message


def test_out_is_an_existing_file(places):
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    out.write_bytes(b"my notes\n")
    before = snapshot(work)
    message = assert_refused_unchanged(convert(source, out), work, before)
    assert "exists and is not a folder" in message, message


@pytest.mark.parametrize("depth", [0, 2])
def test_out_in_a_folder_that_cannot_be_written(places, depth):
    """A parent that is a file (root ignores mode bits): exit 2, and none of
    the missing parents is left behind."""
    inputs, work, _ = places
    source = write(inputs / "ok.conll", CONLL)
    (work / "blocker").write_bytes(b"a file\n")
    out = work.joinpath("blocker", *["deeper"] * depth, "OUT")
    before = snapshot(work)
    message = assert_refused_unchanged(convert(source, out), work, before)
    assert "blocker" in message, message


def test_out_name_longer_than_the_file_system_allows(places):
    inputs, work, _ = places
    source = write(inputs / "ok.conll", CONLL)
    out = work / ("o" * (NAME_MAX + 1))  # (too long even to ask whether it exists: assert_refused would)
    message = assert_refused_unchanged(convert(source, out), work, {})
    assert f"{NAME_MAX} bytes" in message, message


def test_out_under_a_folder_name_longer_than_the_file_system_allows(places):
    inputs, work, _ = places
    source = write(inputs / "ok.conll", CONLL)
    out = work / ("p" * (NAME_MAX + 1)) / "OUT"
    message = assert_refused_unchanged(convert(source, out), work, {})
    assert "too long" in message, message


def test_a_failed_conversion_leaves_no_new_parent_folders(places):
    inputs, work, _ = places
    source = inputs / "bad.conll"
    source.write_bytes(b"John\tB-person\n\nMary\tperson\n\n")
    out = work / "new" / "deeper" / "OUT"
    message = assert_refused(*convert(source, out), work, work / "new")
    assert "bad.conll:3: " in message, message


def test_out_refused_by_the_python_api(places):
    inputs, _, _ = places
    source = write(inputs / "ok.conll", CONLL)
    with pytest.raises(UsageError, match="is inside the input"):
        labelport.convert(source, "TSV_IOB", source / "OUT")


def test_two_labelers_of_one_folder_name(places):
    """--role LABELER writes DOCUMENT-<e-mail with . and @ as _>: two labelers
    of one such name would overwrite each other's files."""
    _, work, out = places
    project = labelport.load(FIXTURES / "datasaur" / "newsroom-p8Xk2Lq9")
    twin = Labeler(project.labelers[0].email.replace(".", "_", 1))
    assert twin.folder == project.labelers[0].folder
    with pytest.raises(UsageError, match="would both be written to DOCUMENT-"):
        labelport.convert(replace(project, labelers=[*project.labelers, twin]), "TSV_IOB", out, role="LABELER")
    assert list(work.iterdir()) == []


# -- an earlier output ------------------------------------------------------------------


def test_earlier_output_with_a_file_of_the_user_is_kept(places):
    """The issue's case: re-running into an earlier output folder deleted
    the user's files, exit 0."""
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    converted(source, out)
    (out / "NOTES.md").write_text("what I found\n", encoding="utf-8")
    (out / "extra").mkdir()
    (out / "extra" / "my-labels.txt").write_text("PER\n", encoding="utf-8")
    source.write_bytes(OTHER_CONLL)
    before = snapshot(work)
    message = assert_refused_unchanged(convert(source, out), work, before)
    assert "'NOTES.md'" in message and "'extra/'" in message and "--overwrite" in message, message


def test_earlier_output_with_a_changed_file_is_kept(places):
    """A file labelport wrote and the user edited since is the user's now."""
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    converted(source, out)
    (out / "ok.conll.tsv").write_bytes(b"John\tB-PER\nlives\tO\n")  # hand-fixed
    before = snapshot(work)
    message = assert_refused_unchanged(convert(source, out), work, before)
    assert "'ok.conll.tsv'" in message, message


def test_foreign_files_named_three_at_most(places):
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    out.mkdir()
    for n in range(5):
        (out / f"mine-{n}.txt").write_bytes(b"x")
    before = snapshot(work)
    message = assert_refused_unchanged(convert(source, out), work, before)
    assert "'mine-0.txt', 'mine-1.txt', 'mine-2.txt' and 2 more" in message, message


def test_earlier_output_without_foreign_files_is_replaced(places):
    inputs, work, out = places
    source = inputs / "first.conll"
    source.write_bytes(CONLL)
    converted(source, out)
    second = inputs / "second.conll"
    second.write_bytes(OTHER_CONLL)
    after = converted(second, out)
    assert sorted(after) == [REPORT_NAME, "second.conll.tsv"]
    assert after["second.conll.tsv"] == b"Mary\tB-person\nsings\tO\n"
    assert sorted(p.name for p in work.iterdir()) == ["OUT"]  # no stage left beside it


def test_overwrite_keeps_the_user_files_in_the_new_output(places):
    """--overwrite replaces labelport's files and keeps the others, byte-identical;
    the new report lists only what labelport wrote."""
    inputs, work, out = places
    source = inputs / "first.conll"
    source.write_bytes(CONLL)
    converted(source, out)
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    (out / "README.md").write_bytes(b"# my dataset\n")
    second = inputs / "second.conll"
    second.write_bytes(OTHER_CONLL)
    after = converted(second, out, "--overwrite")
    assert after[".git/HEAD"] == b"ref: refs/heads/main\n" and after["README.md"] == b"# my dataset\n"
    assert "first.conll.tsv" not in after and after["second.conll.tsv"] == b"Mary\tB-person\nsings\tO\n"
    report = json.loads(after[REPORT_NAME])
    assert sorted(report["files"]) == ["second.conll.tsv"]
    # and again: the kept files are still not labelport's, so still kept
    assert converted(second, out, "--overwrite") == after


def test_overwrite_refuses_to_write_over_a_user_file(places):
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    converted(source, out)
    (out / "ok.conll.tsv").write_bytes(b"hand-fixed\n")
    before = snapshot(work)
    message = assert_refused_unchanged(convert(source, out, "--overwrite"), work, before)
    assert "'ok.conll.tsv'" in message, message


# -- leftovers of killed runs ------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _stage(work: Path, random: str, marker: dict | None) -> Path:
    stage = work / f".OUT.{random}.partial"
    (stage / "new").mkdir(parents=True)
    (stage / "new" / "half.tsv").write_bytes(b"John\tB-")
    if marker is not None:
        (stage / MARKER).write_text(json.dumps(marker), encoding="utf-8")
    return stage


def test_leftovers_of_a_killed_run_are_removed_only_when_provably_dead(places):
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    host = os.uname().nodename
    dead = _stage(work, "deadpid1", {"labelport": "stage", "pid": _dead_pid(), "host": host, "carrying": False})
    alive = _stage(work, "livepid1", {"labelport": "stage", "pid": os.getpid(), "host": host, "carrying": False})
    unmarked = _stage(work, "nomarker", None)
    elsewhere = _stage(work, "otherhst", {"labelport": "stage", "pid": _dead_pid(), "host": host + "-x", "carrying": False})
    carrying = _stage(work, "carrying", {"labelport": "stage", "pid": _dead_pid(), "host": host, "carrying": True})
    old = work / f".OUT.{_dead_pid()}.old"
    old.mkdir()
    (old / "file.tsv").write_bytes(b"x")
    converted(source, out)
    assert not dead.exists()
    for kept in (alive, unmarked, elsewhere, carrying, old):
        assert kept.exists(), kept.name
    assert (carrying / "new" / "half.tsv").read_bytes() == b"John\tB-"


def test_leftovers_stay_when_the_next_run_fails(places):
    inputs, work, out = places
    source = inputs / "bad.conll"
    source.write_bytes(b"John\tB-person\n\nMary\tperson\n\n")
    dead = _stage(work, "deadpid2", {"labelport": "stage", "pid": _dead_pid(), "host": os.uname().nodename, "carrying": False})
    code, _, stderr = convert(source, out)
    assert code == 2, stderr
    assert dead.exists() and sorted(p.name for p in work.iterdir()) == [dead.name]


# -- names too long for the file system ------------------------------------------------


def _schema_doc(folder: Path, file: str, name: str, doc_id: str) -> None:
    content = json.loads(SCHEMA_DOC.read_text(encoding="utf-8"))
    content["data"]["document"].update(name=name, id=doc_id)
    (folder / file).write_text(json.dumps(content), encoding="utf-8")


LONG_A = "é" * 150 + "-a.txt"  # 306 bytes, 156 characters
LONG_B = "é" * 150 + "-b.txt"


def test_long_document_names_are_shortened_and_mapped(places, tmp_path):
    inputs, work, out = places
    _schema_doc(inputs, "a.json", LONG_A, "doc-a")
    _schema_doc(inputs, "b.json", LONG_B, "doc-b")
    first = converted(inputs, out)
    names = [n for n in first if n != REPORT_NAME]
    assert len(names) == 2 and all(len(n.encode()) <= NAME_MAX and n.endswith(".tsv") for n in names), names
    assert all(n.startswith("é" * 100) for n in names), "the readable prefix is kept"
    report = json.loads(first[REPORT_NAME])
    assert sorted(report["renamed"].values()) == [LONG_A, LONG_B]
    assert sorted(report["renamed"]) == sorted(names)
    # the content is the document's: as written under a short name
    short = tmp_path / "short"
    short.mkdir()
    _schema_doc(short, "a.json", "a.txt", "doc-a")
    plain = converted(short / "a.json", tmp_path / "plain")
    renamed_a = next(n for n, doc in report["renamed"].items() if doc == LONG_A)
    assert first[renamed_a] == plain["a.txt.tsv"]
    # the same names on every run, and with --jobs
    again = converted(inputs, tmp_path / "again")
    parallel = converted(inputs, tmp_path / "parallel", "--jobs", "2")
    assert again == first and parallel == first


def test_long_name_given_twice_stays_unique(places):
    inputs, work, out = places
    _schema_doc(inputs, "a.json", LONG_A, "doc-a")
    _schema_doc(inputs, "b.json", LONG_A, "doc-b")
    files = converted(inputs, out)
    names = sorted(n for n in files if n != REPORT_NAME)
    assert len(names) == 2 and names[0] != names[1] and all(len(n.encode()) <= NAME_MAX for n in names)
    assert list(json.loads(files[REPORT_NAME])["renamed"].values()) == [LONG_A, LONG_A]


# -- transformers ------------------------------------------------------------------------

ESCAPING = '''
def transform_project(documents):
    for _ in documents:
        pass
    return {"ok.txt": "fine", PATH: "escaped"}
'''


@pytest.mark.parametrize("path", ["../escaped.txt", "ABSOLUTE", "a/../../escaped.txt", "C:escaped.txt"])
def test_transformer_path_escaping_out(places, path):
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    path = path.replace("ABSOLUTE", str(inputs.parent / "escaped.txt"))
    transformer = inputs / "escape.py"
    transformer.write_text(ESCAPING.replace("PATH", repr(path)), encoding="utf-8")
    message = assert_refused(
        *run_cli("convert", source, "-f", "CUSTOM", "--transformer", transformer, "-o", out), work, out
    )
    assert repr(path) in message and "escape.py" in message, message
    assert not (inputs.parent / "escaped.txt").exists()


# -- push into a local folder ---------------------------------------------------------------


def test_push_never_overwrites_a_file_labelport_did_not_put_there(places, tmp_path):
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    converted(source, out)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "ok.conll.tsv").write_bytes(b"the user's own\n")
    before = snapshot(tmp_path)
    message = assert_refused_unchanged(run_cli("push", out, dest), tmp_path, before)
    assert "'ok.conll.tsv'" in message, message


def test_push_replaces_what_an_earlier_push_put_there(places, tmp_path):
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    converted(source, out)
    dest = tmp_path / "dest"
    code, _, stderr = run_cli("push", out, dest)
    assert code == 0, stderr
    source.write_bytes(OTHER_CONLL)
    converted(source, out)
    code, _, stderr = run_cli("push", out, dest)
    assert code == 0, stderr
    assert (dest / "ok.conll.tsv").read_bytes() == b"Mary\tB-person\nsings\tO\n"


def test_push_again_reads_each_file_at_dest_once(places, tmp_path, monkeypatch):
    """A second push of the same folder reads (hashes) each file DEST holds
    once, not once to check it may be overwritten and again to skip it."""
    from labelport.delivery.destinations import local

    inputs, work, out = places
    for name in ("a", "b", "c"):
        write(inputs / f"{name}.conll", CONLL)
    converted(inputs, out)
    dest = tmp_path / "dest"
    labelport.push(out, str(dest))
    hashed: list[Path] = []

    def counted(path: Path):
        hashed.append(Path(path))
        return file_digest(path)

    file_digest = local.file_digest
    monkeypatch.setattr(local, "file_digest", counted)
    result = labelport.push(out, str(dest))
    unchanged = [dest / o.rel for o in result.objects if not o.uploaded]
    assert len(unchanged) >= 3
    assert sorted(p for p in hashed if p in unchanged) == sorted(unchanged)


@pytest.mark.parametrize("where", ["same", "inside"])
def test_push_into_the_folder_being_pushed(places, where):
    inputs, work, out = places
    source = write(inputs / "ok.conll", CONLL)
    converted(source, out)
    dest = out if where == "same" else out / "copy"
    before = snapshot(work)
    message = assert_refused_unchanged(run_cli("push", out, dest), work, before)
    assert "the folder being pushed" in message, message


def test_a_parent_made_meanwhile_by_another_run_is_used_and_kept(places, monkeypatch):
    """Two runs into siblings under one missing folder (two jobs into
    LABELPORT_HOME/exports/): the one that finds the folder made between
    its look and its mkdir uses it, and a failure after it never removes it
    (it is the other run's). Seen in CI as a job FAILED with "cannot create
    the folder ...: File exists"."""
    import labelport
    from labelport.guards import output

    inputs, work, _ = places
    source = write(inputs / "ok.conll", CONLL)
    shared = work / "exports"
    shared.mkdir()  # made by the other run after this one looked
    real = os.path.lexists
    monkeypatch.setattr(output.os.path, "lexists", lambda p: False if Path(p) == shared else real(p))
    report = labelport.convert(labelport.load(source), "TSV_IOB", shared / "one")
    assert report.counts["documents"] == 1 and (shared / "one" / "ok.conll.tsv").is_file()
    (inputs / "bad.conll").write_bytes(CONLL + b"Mary\tB-\n\n")  # fails while writing, after the parents
    with pytest.raises(labelport.LabelportError):
        labelport.convert(labelport.load(inputs / "bad.conll"), "TSV_IOB", shared / "two")
    assert shared.is_dir() and (shared / "one").is_dir() and not (shared / "two").exists()
