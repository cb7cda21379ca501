"""The output guard: every name and folder written under ``-o`` goes through here.

Names: a split or ``--zip`` name is checked (:func:`plain_name`,
:func:`file_name`), a document name is made a file name (:func:`safe_name`,
:class:`FileNamer`), a transformer's path is checked to stay inside the
output (:func:`relative_path`), and a name longer than the file system's
limit (:data:`NAME_MAX` bytes) is shortened the same way every run (a
readable prefix, a hash, the extension: :func:`fit`).

The folder (:func:`staged_folder`): OUT is written into a hidden stage
beside it and moved in place only when whole. Before anything is written,
OUT is refused when it is, is inside, or holds an input, when it is a file,
or when it holds files labelport did not write: an earlier output is replaced
only when every file in it is listed with its sha256 in its
labelport-report.json (``overwrite`` keeps such files instead, in the new
output). Parent folders this run created are removed when it fails, and
stages of killed runs are removed by the next successful run into the same
OUT, when their marker proves labelport made them and their process is gone.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Iterable, Iterator

from ..errors import UsageError
from .processes import alive

REPORT_NAME = "labelport-report.json"

#: Bytes in one file or folder name (NAME_MAX of Linux, macOS and Windows
#: file systems); a constant, so the same input gets the same names anywhere.
NAME_MAX = 255
#: Bytes in a split name: it becomes a folder and part of file names.
PLAIN_NAME_MAX = 100
#: Hex digits of the hash a shortened name ends with.
_HASH_DIGITS = 12

#: In a stage, next to the output being written: who made it.
MARKER = "labelport-stage.json"
_NEW, _OLD = "new", "old"  # a stage's output, and the earlier output it replaced
_STAGE_SUFFIX = ".partial"

_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")
_PLAIN = re.compile(r"[\w.-]+")  # \w: letters, digits and _ of any script


def files_under(folder: str | os.PathLike[str], prefix: str = "") -> Iterator[str]:
    """The paths of the files under ``folder``, relative to it, ``/``-separated
    (as Path.rglob and is_file find them, at a fraction of their cost: a
    project and its output can be thousands of files)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from files_under(entry.path, f"{prefix}{entry.name}/")
            elif entry.is_file():
                yield prefix + entry.name


# -- names ------------------------------------------------------------------------------


def plain_name(name: str, what: str) -> str:
    """``name`` if it is a plain name (letters, digits, ``-``, ``_``, ``.``;
    not ``.`` or ``..``; at most PLAIN_NAME_MAX bytes), else UsageError."""
    plain = isinstance(name, str) and name not in (".", "..") and _PLAIN.fullmatch(name) is not None
    if not plain or _utf8_len(name) > PLAIN_NAME_MAX:
        raise UsageError(
            f"{what}: {name!r} is not a plain name (letters, digits, '-', '_' and '.', "
            f"at most {PLAIN_NAME_MAX} bytes; not '.' or '..')"
        )
    return name


def file_name(name: str, what: str) -> str:
    """``name`` if it is one file name (no path separator or control
    character, not ``.``/``..``, at most NAME_MAX bytes), else UsageError."""
    if name in ("", ".", "..") or _UNSAFE.search(name) or PureWindowsPath(name).drive or _utf8_len(name) > NAME_MAX:
        raise UsageError(f"{what}: {name!r} is not a file name (no '/', '\\', ':' drive or control character; at most {NAME_MAX} bytes)")
    return name


def fit(stem: str, extension: str = "", limit: int = NAME_MAX) -> str:
    """``stem + extension``, or when longer than ``limit`` UTF-8 bytes, the
    longest prefix of ``stem`` that fits with ``-<hash of stem>`` and the
    extension: deterministic, and two stems of one prefix stay apart."""
    name = stem + extension
    if _utf8_len(name) <= limit:
        return name
    if _utf8_len(extension) > limit // 4:  # not an extension worth keeping whole
        stem, extension = name, ""
    tag = "-" + hashlib.sha256(stem.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_DIGITS]
    room = limit - len(tag) - _utf8_len(extension)
    prefix = stem.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")  # (a cut character is dropped)
    return prefix + tag + extension


def safe_name(name: str) -> str:
    """A document name made safe as a file name (README, "Limits and safety": names),
    shortened by :func:`fit` when too long."""
    return fit(_cleaned(name))


def _cleaned(name: str) -> str:
    name = _UNSAFE.sub("_", name)
    if name in ("", ".", ".."):
        name = name.replace(".", "_") or "_"
    return name


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


class FileNamer:
    """Gives each document a unique ``<name><ext>`` inside one folder; a name
    shortened to fit goes into ``renamed`` (file name -> document name: the
    report's ``renamed``)."""

    def __init__(self, renamed: dict[str, str] | None = None) -> None:
        self._taken: set[str] = set()
        self._renamed = renamed

    def name(self, document_name: str, extension: str) -> str:
        base = _cleaned(document_name)
        if extension and base.endswith(extension):
            base = base[: -len(extension)]
        stem, n = base, 1
        candidate = fit(stem, extension)
        while candidate in self._taken:
            n += 1
            stem = f"{base}-{n}"
            candidate = fit(stem, extension)
        self._taken.add(candidate)
        if self._renamed is not None and candidate != stem + extension:
            self._renamed[candidate] = document_name
        return candidate


def relative_path(key: str) -> PurePosixPath | None:
    """``key`` as a relative path that stays inside its folder, else None."""
    if not key or "\x00" in key or PureWindowsPath(key).drive or PureWindowsPath(key).root:
        return None
    parts = [p for p in key.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return PurePosixPath(*parts)


# -- where OUT is -----------------------------------------------------------------------


def overlap(out: str | os.PathLike[str], source: str | os.PathLike[str]) -> str | None:
    """How ``out`` and an existing ``source`` share files ("is", "is inside",
    "holds"), symbolic links resolved; None when they do not."""
    real_out, real_in = Path(os.path.realpath(out)), Path(os.path.realpath(source))
    if real_out == real_in:
        return "is"
    if real_in in real_out.parents:
        return "is inside"
    if real_out in real_in.parents:
        return "holds"
    return None


def _check_place(out: Path, inputs: Iterable[str | os.PathLike[str] | None]) -> None:
    if not out.name or out.parent == out:
        raise UsageError("is not a folder labelport can replace; choose a folder below it", file=out)
    if _utf8_len(out.name) > NAME_MAX:
        raise UsageError(f"the folder name is longer than {NAME_MAX} bytes", file=out)
    for source in inputs:
        if source and os.path.lexists(source):
            how = overlap(out, source)
            if how is not None:
                raise UsageError(f"-o {how} the input {str(source)!r}; choose an output folder apart from it", file=out)
    if out.is_symlink():
        raise UsageError("is a symbolic link; give the folder it points to", file=out)
    if out.exists() and not out.is_dir():
        raise UsageError("exists and is not a folder", file=out)


# -- what an earlier output holds ---------------------------------------------------------


@dataclass
class _Kept:
    """What of an earlier output labelport did not write (or wrote, and
    someone changed since): ``paths``, the top-most ones (what --overwrite
    moves), and ``files``, those of them that are more than empty folders
    (what refuses a run)."""

    paths: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class _Earlier:
    """An existing OUT, compared with the files its labelport-report.json lists."""

    def __init__(self, out: Path):
        self.out = out
        self.report = read_report(out / REPORT_NAME)
        files = self.report["files"] if self.report is not None else {}
        self.listed: dict[str, dict] = {k: v for k, v in files.items() if isinstance(v, dict)}
        self.folders = {str(PurePosixPath(rel).parent) for rel in self.listed}
        self.folders |= {str(p) for rel in self.folders for p in PurePosixPath(rel).parents}
        self._verdicts: dict[str, tuple[tuple[int, int, int], bool]] = {}  # rel -> (stat, labelport's)

    def kept(self) -> _Kept:
        """Scan OUT (again: a file changed since the last scan is looked at anew)."""
        kept = _Kept()
        self._walk(self.out, "", kept)
        return kept

    def _walk(self, folder: Path, prefix: str, kept: _Kept) -> None:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if rel in self.folders:
                    self._walk(Path(entry.path), rel + "/", kept)
                    continue
                kept.paths.append(rel)
                if _holds_more_than_folders(entry.path):
                    kept.files.append(rel + "/")
            elif not self._labelport_file(entry, rel):
                kept.paths.append(rel)
                kept.files.append(rel)

    def _labelport_file(self, entry: os.DirEntry, rel: str) -> bool:
        if not entry.is_file(follow_symlinks=False):
            return False  # labelport writes no links, pipes or devices
        if rel == REPORT_NAME:
            return self.report is not None
        expected = self.listed.get(rel)
        if expected is None:
            return False
        st = entry.stat(follow_symlinks=False)
        key = (st.st_size, st.st_mtime_ns, st.st_ino)
        seen = self._verdicts.get(rel)
        if seen is not None and seen[0] == key:
            return seen[1]
        same = st.st_size == expected.get("bytes") and file_digest(entry.path) == (st.st_size, expected.get("sha256"))
        self._verdicts[rel] = (key, same)
        return same


def read_report(path: Path) -> dict | None:
    """The content of the labelport-report.json at ``path``, or None when
    there is none (or it is not a regular file, or not labelport's)."""
    content = _json_object(path)
    return content if content is not None and "labelport" in content and isinstance(content.get("files"), dict) else None


def _json_object(path: Path) -> dict | None:
    """The JSON object a regular file (not a link) holds, else None."""
    import orjson  # (start-up: orjson, as in Report.write)

    try:
        if path.is_symlink() or not path.is_file():
            return None
        content = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return content if isinstance(content, dict) else None


def _holds_more_than_folders(folder: str) -> bool:
    """Whether anything but empty folders is under ``folder`` (os.walk lists
    links among the files; a folder it cannot read is an error, not empty)."""
    return any(
        files or any(os.path.islink(os.path.join(root, d)) for d in dirs)
        for root, dirs, files in os.walk(folder, onerror=_raise)
    )


def _raise(exc: OSError) -> None:
    raise exc


def file_digest(path: str | os.PathLike[str]) -> tuple[int, str]:
    """A file's size and sha256 (hex), read once."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
        return fh.tell(), digest.hexdigest()


def first_few(paths: list[str], at_most: int = 3) -> str:
    """The first paths, quoted, and how many more: what an error names."""
    more = f" and {len(paths) - at_most} more" if len(paths) > at_most else ""
    return ", ".join(repr(p) for p in paths[:at_most]) + more


def _foreign_error(out: Path, kept: _Kept) -> UsageError:
    return UsageError(
        f"holds files labelport did not write (not listed, or changed since, in its {REPORT_NAME}): {first_few(kept.files)}; "
        "move them away, choose another -o, or add --overwrite to replace labelport's files and keep these",
        file=out,
    )


# -- the stage ---------------------------------------------------------------------------


@contextmanager
def staged_folder(
    out: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    overwrite: bool = False,
) -> Iterator[Path]:
    """Yield an empty folder to write OUT's content into; on success it becomes
    ``out``. Refused (UsageError, nothing written) when ``out`` is unsafe to
    write (see the module's docstring); ``overwrite`` keeps the files of an
    earlier OUT that labelport did not write, in the new OUT."""
    given = Path(out)  # what errors name, as the user gave it
    out = Path(os.path.abspath(out))
    try:
        yield from _staged(out, inputs, overwrite)
    except UsageError as exc:
        if exc.file == str(out):
            exc.file = str(given)
        raise


def check_out(
    out: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    overwrite: bool = False,
) -> None:
    """Refuse ``out`` as :func:`staged_folder` would, and when its nearest
    existing folder cannot be written in, reading nothing but OUT: run before
    any work, so a refused output costs nothing. UsageError naming ``out``."""
    given = Path(out)
    out = Path(os.path.abspath(out))
    try:
        _earlier(out, inputs, overwrite)
        folder = out.parent
        while not os.path.lexists(folder):
            folder = folder.parent
        if not folder.is_dir():
            raise UsageError(f"{str(folder)!r} is not a folder", file=given)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"cannot write in {str(folder)!r} (permission denied)", file=given)
    except UsageError as exc:
        if exc.file == str(out):
            exc.file = str(given)
        raise


def _earlier(out: Path, inputs: Iterable[str | os.PathLike[str] | None], overwrite: bool) -> "_Earlier | None":
    """OUT's earlier output, after refusing an OUT that is unsafe to write."""
    try:
        _check_place(out, inputs)
        earlier = _Earlier(out) if out.is_dir() else None
        if earlier is not None and not overwrite:
            kept = earlier.kept()
            if kept.files:
                raise _foreign_error(out, kept)
    except OSError as exc:  # (a path too long, a folder that cannot be read)
        raise UsageError(f"cannot be used as the output folder: {exc.strerror or exc}", file=out) from None
    return earlier


def _staged(out: Path, inputs: Iterable[str | os.PathLike[str] | None], overwrite: bool) -> Iterator[Path]:
    earlier = _earlier(out, inputs, overwrite)
    created = _make_parents(out)
    try:
        stage = _Stage.create(out)
    except BaseException:
        _remove_folders(created)
        raise
    try:
        yield stage.new
        if out.is_dir():  # (looked at again: it may have changed, or appeared, while this run wrote)
            stage.keep(earlier or _Earlier(out), overwrite)
        stage.replace(out)
    except BaseException:
        stage.discard()
        _remove_folders(created)
        raise
    _remove_dead_stages(out)


def _make_parents(out: Path) -> list[Path]:
    """Create OUT's missing parents; the ones created, deepest first."""
    missing = []
    folder = out.parent
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    created: list[Path] = []
    try:
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:  # made meanwhile by another run (two jobs into LABELPORT_HOME/exports/)
                if not folder.is_dir():
                    raise
                continue  # (not this run's: never removed by it)
            created.insert(0, folder)
    except OSError as exc:
        _remove_folders(created)
        raise UsageError(f"cannot create the folder {str(folder)!r}: {exc.strerror or exc}", file=out) from None
    return created


def _remove_folders(folders: list[Path]) -> None:
    for folder in folders:  # deepest first; a folder someone put something into stays
        try:
            folder.rmdir()
        except OSError:
            return


@dataclass
class _Stage:
    """``.<OUT>.<random>.partial/`` beside OUT: a marker naming this process,
    ``new/`` (the output being written) and, while OUT is swapped, ``old/``."""

    folder: Path

    @property
    def new(self) -> Path:
        return self.folder / _NEW

    @classmethod
    def create(cls, out: Path) -> "_Stage":
        try:
            folder = Path(tempfile.mkdtemp(prefix=_stage_prefix(out), suffix=_STAGE_SUFFIX, dir=out.parent))
        except OSError as exc:
            raise UsageError(f"cannot write into {str(out.parent)!r}: {exc.strerror or exc}", file=out) from None
        stage = cls(folder)
        try:
            stage.mark(carrying=False)
            stage.new.mkdir(mode=0o700)  # (as tempfile made OUT before: private until the user shares it)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return stage

    def mark(self, carrying: bool) -> None:
        """The marker: this stage is labelport's, of this process; ``carrying``
        while it holds files of the user's (never removed by another run)."""
        import orjson  # (start-up: orjson, as in Report.write)

        marker = {"labelport": "stage", "pid": os.getpid(), "host": _host(), "carrying": carrying}
        (self.folder / MARKER).write_bytes(orjson.dumps(marker))

    def keep(self, earlier: _Earlier, overwrite: bool) -> None:
        """Check OUT's files; with ``overwrite``, move what labelport did not
        write into the new output."""
        kept = earlier.kept()
        if not overwrite:
            if kept.files:
                raise _foreign_error(earlier.out, kept)
            return
        moves: list[tuple[Path, Path]] = []
        clashes: list[str] = []
        for rel in kept.paths:
            _plan_move(earlier.out / rel, self.new / rel, rel, moves, clashes)
        if clashes:
            raise UsageError(
                f"--overwrite keeps files labelport did not write, but this run writes {first_few(clashes)} too; move them away",
                file=earlier.out,
            )
        if moves:
            self.mark(carrying=True)
        for source, target in moves:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(source, target)

    def replace(self, out: Path) -> None:
        old = self.folder / _OLD
        if out.is_dir():
            out.rename(old)
        try:
            self.new.rename(out)
        except OSError:
            if old.is_dir():
                old.rename(out)
            raise
        self.mark(carrying=False)  # what it carried is in OUT now
        shutil.rmtree(self.folder, ignore_errors=True)

    def discard(self) -> None:
        if not _carrying(self.folder) and not (self.folder / _OLD).exists():  # else it holds the user's files
            shutil.rmtree(self.folder, ignore_errors=True)


def _plan_move(source: Path, target: Path, rel: str, moves: list[tuple[Path, Path]], clashes: list[str]) -> None:
    """Move ``source`` to ``target``; where both are folders, their contents."""
    if not os.path.lexists(target):
        moves.append((source, target))
    elif source.is_dir() and not source.is_symlink() and target.is_dir():
        for child in sorted(os.listdir(source)):
            _plan_move(source / child, target / child, f"{rel}/{child}", moves, clashes)
    else:
        clashes.append(rel)


def _stage_prefix(out: Path) -> str:
    # mkdtemp adds 8 characters, then the suffix: the whole stays one name
    return "." + fit(out.name, ".", NAME_MAX - 9 - len(_STAGE_SUFFIX))


def _carrying(folder: Path) -> bool:
    marker = _read_marker(folder)
    return marker is None or bool(marker.get("carrying"))


def _read_marker(folder: Path) -> dict | None:
    content = _json_object(folder / MARKER)
    return content if content is not None and content.get("labelport") == "stage" else None


def _remove_dead_stages(out: Path) -> None:
    """Remove the stages a killed run into OUT left: only those whose marker
    names a process of this host that is gone, and that hold no user file."""
    prefix, host = _stage_prefix(out), _host()
    try:
        with os.scandir(out.parent) as scan:
            candidates = [Path(e.path) for e in scan if e.name.startswith(prefix) and e.name.endswith(_STAGE_SUFFIX)
                          and len(e.name) == len(prefix) + 8 + len(_STAGE_SUFFIX) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for folder in candidates:
        marker = _read_marker(folder)
        if marker is None or marker.get("host") != host or marker.get("carrying"):
            continue
        pid = marker.get("pid")
        if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and not alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def _host() -> str:
    return os.uname().nodename  # (socket.gethostname()'s answer, without importing socket)
