"""Where the files are: one file, a folder of files, a zip, and the Datasaur
export-all layout inside a folder or zip.

The export-all layout is ``[<project name>-<id>/]REVIEW/``, one
``DOCUMENT-<labeler>/`` per labeler, ``ROOT-<owner>/`` and
``project-data.json``. Documents are matched across the folders by file path
and position in the file; the final version comes from REVIEW (or ROOT when
the export holds labelers' versions only) and each labeler's is kept in
``Document.versions``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator, Sequence, overload

from ..datasaur import pieces as dj
from ..errors import InputError
from ..formats.registry import reader_module
from ..guards.archives import Archive, is_zip_of_files
from ..guards.output import REPORT_NAME, files_under
from ..model import Document, Labeler, Project, SizeHint
from . import ReadOptions, Source, detect

#: Files that are never data.
_SKIP = {REPORT_NAME, "project-data.json", ".DS_Store", "README.md"}


class Tree:
    """The files of a folder or a zip, by relative path, opened on demand.

    A zip is opened through :class:`~labelport.guards.archives.Archive`, vetted
    whole first; its paths are the entries' normal names (``/`` even when
    the zip was made on Windows with ``\\``). ``shown_as`` names the folder
    or zip in messages and sources instead of its path (a URL it was
    downloaded from)."""

    def __init__(self, root: Path, shown_as: str | None = None):
        self.root = root
        self.shown_as = shown_as
        self.label = shown_as or str(root)
        self._archive: Archive | None = None
        if root.is_file():
            self._archive = Archive(root, self.label)
            names = self._archive.names
        else:
            names = list(files_under(root))
        self.paths = readable(names)
        self.all_paths = set(names)
        #: the bytes of the files to read; each source's reading is recorded in it
        self.size_hint = SizeHint(self._sizes)

    def _sizes(self) -> dict[str, int]:
        if self._archive is not None:
            declared = {name: info.file_size for name, info in self._archive.entries}
            return {path: declared[path] for path in self.paths}
        return {path: os.stat(self.root / path).st_size for path in self.paths}

    def source(self, path: str) -> Source:
        name = path.rpartition("/")[2]
        hint = self.size_hint
        if self._archive is not None:
            archive = self._archive
            return Source(name, f"{self.label}:{path}", lambda: hint.opened(path, archive.open(path)))
        full = self.root / path
        label = str(full) if self.shown_as is None else f"{self.shown_as}/{path}"
        return Source(name, label, lambda: hint.opened(path, open(full, "rb")))

    def read(self, path: str) -> bytes:
        if self._archive is not None:
            return self._archive.read(path)
        return (self.root / path).read_bytes()


def readable(names: Iterable[str]) -> list[str]:
    """The files of a folder or zip (relative names) that are read, in the order they are
    read: every one but hidden ones and those that are never data."""
    return sorted(n for n in names if n.rpartition("/")[2] not in _SKIP and not _hidden(n))


def _hidden(path: str) -> bool:
    return any(part.startswith(".") and part != "." or part == "__MACOSX" for part in path.split("/"))


class _Parts(Sequence[Project]):
    """A project per file, each made when it is wanted: a folder of many
    files holds only their names until then."""

    def __init__(self, part: Callable[[int], Project], count: int):
        self._part = part
        self._count = count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, n: int) -> Project: ...
    @overload
    def __getitem__(self, n: slice) -> list[Project]: ...
    def __getitem__(self, n: int | slice) -> Project | list[Project]:
        if isinstance(n, slice):
            return [self._part(i) for i in range(*n.indices(self._count))]
        if not -self._count <= n < self._count:
            raise IndexError(n)
        return self._part(n % self._count)


def load_path(path: Path, options: ReadOptions, shown_as: str | None = None) -> Project:
    """The project the file, folder or zip ``path`` holds; ``shown_as`` names
    ``path`` in messages, sources and the project's ``source`` (a URL it was
    downloaded from: labelport.conversion.remote)."""
    label = shown_as or str(path)
    if not path.exists():
        raise InputError("no such file or folder", label)
    if path.is_file() and not is_zip_of_files(path):
        hint = SizeHint(lambda: {path.name: os.stat(path).st_size})
        source = Source(path.name, label, lambda: hint.opened(path.name, open(path, "rb")), path)
        return replace(read_source(source, options), size_hint=hint)
    tree = Tree(path, shown_as)
    if not tree.paths:
        raise InputError("holds no files to read", label)
    layout = _export_all(tree)
    if layout is not None:
        return _load_export_all(path, tree, layout, options)
    return _merge(path, tree, options)


def read_source(source: Source, options: ReadOptions) -> Project:
    format_id = detect(source, options)
    return reader_module(format_id).read(source, options, format_id)


def _merge(path: Path, tree: Tree, options: ReadOptions) -> Project:
    """A folder or zip of files: one project, the files' documents in order.

    Only the first file is read up front (for the project's kinds, label sets
    and questions); each other file is read when its documents are wanted, so
    memory holds one file at a time however many there are.
    """
    first_source = tree.source(tree.paths[0])
    first_format = detect(first_source, options)
    first = reader_module(first_format).read(first_source, options, first_format)
    if len(tree.paths) == 1:
        return replace(first, source=tree.label, size_hint=tree.size_hint)
    suffix = PurePosixPath(first_source.name).suffix.lower()

    def file_documents(n: int) -> Iterator[Document]:
        if n == 0:
            return first.documents()
        source = tree.source(tree.paths[n])
        # Files named like the first are read as its format without opening
        # them twice to find out (a reader still refuses a file not of it).
        same = PurePosixPath(source.name).suffix.lower() == suffix
        format_id = first_format if same else detect(source, options)
        return reader_module(format_id).read(source, options, format_id).documents()

    def part(n: int) -> Project:
        if n == 0:
            return first
        return replace(first, documents_factory=lambda: file_documents(n), source=tree.source(tree.paths[n]).label)

    parts = _Parts(part, len(tree.paths))

    def documents() -> Iterator[Document]:
        for n in range(len(tree.paths)):
            yield from file_documents(n)

    if first.id_from_data:
        project_id, name = first.id, first.name
    else:
        project_id = name = path.stem if path.is_file() else path.name
    return replace(first, id=project_id, name=name, documents_factory=documents, source=tree.label, parts=parts,
                   size_hint=tree.size_hint)


# -- export-all ----------------------------------------------------------------

@dataclass
class _Layout:
    top: str  # "" or "<project>-<id>/"
    final: str  # the folder the final version comes from: REVIEW or ROOT-*
    root: str | None
    labelers: list[str]  # DOCUMENT-* folder names
    files: list[str]  # paths relative to a version folder, in order


def _export_all(tree: Tree) -> _Layout | None:
    folders: dict[str, set[str]] = {}
    tops: dict[str, None] = {}  # in order of first sight
    for path in tree.paths:
        parts = PurePosixPath(path).parts
        for depth in (0, 1):
            if len(parts) > depth + 1 and _is_version_folder(parts[depth]):
                tops.setdefault("/".join(parts[:depth]) + ("/" if depth else ""))
                folders.setdefault(parts[depth], set()).add("/".join(parts[depth + 1 :]))
                break
    if not tops:
        return None
    if len(tops) > 1:  # reading one would silently drop the others
        named = ", ".join(repr(t.rstrip("/") or "(top level)") for t in tops)
        raise InputError(f"holds more than one export-all project ({named}); convert each on its own", tree.label)
    top = next(iter(tops))
    roots = [f for f in folders if f == "ROOT" or f.startswith("ROOT-")]
    if len(roots) > 1:  # one export has one owner's copy: which would be read is a guess
        raise InputError(f"holds more than one ROOT folder ({', '.join(sorted(roots))})", tree.label)
    root = roots[0] if roots else None
    final = "REVIEW" if "REVIEW" in folders else root or sorted(folders)[0]
    labelers = sorted(f for f in folders if f.startswith("DOCUMENT-"))
    files = sorted(folders[final]) + sorted(set().union(*folders.values()) - folders[final])
    return _Layout(top, final, root, labelers, files)


def _is_version_folder(name: str) -> bool:
    return name == "REVIEW" or name == "ROOT" or name.startswith(("DOCUMENT-", "ROOT-"))


def _load_export_all(path: Path, tree: Tree, layout: _Layout, options: ReadOptions) -> Project:
    def source(folder: str, rel: str) -> Source | None:
        full = f"{layout.top}{folder}/{rel}"
        return tree.source(full) if full in tree.all_paths else None

    first_rel = layout.files[0]
    base = read_source(source(layout.final, first_rel) or source(layout.labelers[0], first_rel), options)
    project_id, project_name, tags = _project_identity(tree, layout, base)
    labelers = [_labeler(folder, source(folder, next(r for r in layout.files if source(folder, r))), options)
                for folder in layout.labelers]
    owner = _labeler(layout.root, None, options) if layout.root and layout.root != "ROOT" else None

    def documents() -> Iterator[Document]:
        for rel in layout.files:
            final = source(layout.final, rel)
            versions: dict[str, Callable[[], Iterator[Document]]] = {}
            for folder, labeler in zip(layout.labelers, labelers):
                found = source(folder, rel)
                if found is not None:
                    versions[labeler.folder] = read_source(found, options).documents
            if final is None:  # not in the final folder: the content of another copy, without labels
                other = source(layout.root, rel) if layout.root else None
                copy_docs = versions[next(iter(versions))]() if versions else read_source(other, options).documents()
                final_docs: Iterator[Document] = (d.unlabeled() for d in copy_docs)
            else:
                final_docs = read_source(final, options).documents()
            yield from _attach_versions(final_docs, {k: f() for k, f in versions.items()}, labelers)

    return replace(
        base,
        id=project_id,
        name=project_name,
        tags=tags,
        labelers=labelers,
        owner=owner,
        documents_factory=documents,
        source=tree.label,
        size_hint=tree.size_hint,
    )


def _attach_versions(
    final_docs: Iterator[Document], versions: dict[str, Iterator[Document]], labelers: list[Labeler]
) -> Iterator[Document]:
    by_folder = {labeler.folder: labeler for labeler in labelers}
    for document in final_docs:
        for key, docs in versions.items():
            version = next(docs, None)
            if version is None:
                continue
            # A version shares nothing with the stream of the final one: read it whole.
            version.lines = list(version.lines)
            version.rows = list(version.rows)
            version.labeler = version.labeler or by_folder[key]
            document.versions[key] = version
        yield document


def _project_identity(tree: Tree, layout: _Layout, base: Project) -> tuple[str, str, list[str]]:
    data_path = f"{layout.top}project-data.json"
    if data_path in tree.all_paths:
        from ..datasaur.types import decode_project_data  # (start-up: msgspec ~11 ms; CoNLL folders need none)

        info = decode_project_data(tree.read(data_path), f"{tree.label}:{data_path}").project
        if info is None:
            return base.id, base.name, []
        return (base.id if info.id is None else str(info.id), base.name if info.title is None else info.title,
                list(info.tags or ()))
    if layout.top:
        name, _, project_id = layout.top.rstrip("/").rpartition("-")
        if name:
            return project_id, name, []
    return base.id, base.name, []


def _labeler(folder: str, sample: Source | None, options: ReadOptions) -> Labeler:
    """Who a DOCUMENT-/ROOT- folder belongs to: its files' labelerInfo when
    they carry one, else the folder name."""
    key = folder.split("-", 1)[1] if "-" in folder else folder
    format_id = None if sample is None else detect(sample, options)
    if format_id in ("DATASAUR_SCHEMA", "JSON_ADVANCED"):
        from ..datasaur.types import decode_labeler_info  # (start-up: msgspec, as in _project_identity)

        info = decode_labeler_info(sample.read_bytes(), sample.label, format_id, forced=options.format is not None)
        labeler = dj.labeler_from(info)
        if labeler is not None and labeler.folder == key:
            return labeler
    return Labeler(email=key)
