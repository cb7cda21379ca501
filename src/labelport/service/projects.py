"""The projects ``labelport serve`` exports: the entries of ``--projects DIR``.

Each subfolder and each ``.zip`` of DIR is one project, in any layout and
format labelport reads (a Datasaur export-all folder or zip, DATASAUR_SCHEMA
or JSON_ADVANCED files, CoNLL/IOB, CSV/TSV/XLSX). Its API id is the
subfolder's name, or the zip's name without ``.zip`` (a folder wins over a zip
of the same name). DIR is listed again on every request, so projects added or
removed while the service runs are seen at once.

A document is found by its id or its name; ``PROJECT_ID/DOCUMENT`` picks the
project when the same document is served by several.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from ..conversion import load
from ..errors import LabelportError, UsageError
from ..guards.output import first_few
from ..model import Project

log = logging.getLogger("labelport.serve")

#: How many project ids a not-found error lists before "and N more".
KNOWN_IDS_SHOWN = 10


class NotFoundError(UsageError):
    """An id the service does not know."""


@dataclass(frozen=True)
class DocumentInfo:
    id: str
    name: str
    kinds: tuple[str, ...]
    position: int  # its place among the project's documents


@dataclass(frozen=True)
class DocumentMatch:
    project_id: str
    path: Path
    document: DocumentInfo


class ProjectDirectory:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self._documents: dict[Path, tuple[str, list[DocumentInfo]]] = {}
        self._lock = threading.Lock()

    def entries(self) -> dict[str, Path]:
        """Project id -> its folder or zip, as DIR holds them now."""
        found: dict[str, Path] = {}
        try:
            children = sorted(self.root.iterdir())
        except OSError as exc:
            raise LabelportError(f"cannot list the projects folder: {exc.strerror or exc}", self.root) from None
        for child in children:
            if child.name.startswith((".", "_")):
                continue
            if child.is_dir():
                found[child.name] = child
        for child in children:
            if child.name.startswith((".", "_")):
                continue
            if child.is_file() and child.suffix.lower() == ".zip":
                found.setdefault(child.name[: -len(".zip")], child)
        return found

    def path(self, project_id: str) -> Path:
        entries = self.entries()
        path = entries.get(project_id)
        if path is None:
            known = first_few(list(entries), KNOWN_IDS_SHOWN) if entries else "none (the projects folder is empty)"
            raise NotFoundError(f"project {project_id!r} not found; the projects are: {known}")
        return path

    def load(self, project_id: str) -> Project:
        return load(self.path(project_id))

    # -- documents --------------------------------------------------------------------
    def documents(self, project_id: str, path: Path | None = None) -> list[DocumentInfo]:
        """The project's documents (ids, names, kinds); read once per change of its files."""
        path = path or self.path(project_id)
        signature = _signature(path)
        with self._lock:
            cached = self._documents.get(path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        infos = [
            DocumentInfo(str(d.id), str(d.name), tuple(d.kinds), i)
            for i, d in enumerate(load(path).documents())
        ]
        with self._lock:
            self._documents[path] = (signature, infos)
        return infos

    def find_document(self, reference: str) -> DocumentMatch:
        """The one served document ``reference`` names: a document id or name,
        optionally as ``PROJECT_ID/DOCUMENT``. Ids are matched before names."""
        entries = self.entries()
        reference = reference.strip()
        if not reference:
            raise UsageError("documentId is empty")
        project_id, slash, rest = reference.partition("/")
        if slash and project_id in entries:
            found = _match(rest, self.documents(project_id, entries[project_id]))
            if found is not None:
                return DocumentMatch(project_id, entries[project_id], found)
        matches: list[DocumentMatch] = []
        unreadable: list[str] = []
        indexes: dict[str, list[DocumentInfo]] = {}
        for pid in entries:
            try:
                indexes[pid] = self.documents(pid, entries[pid])
            except Exception as exc:  # a broken project hides no other project's documents
                log.warning("project %r cannot be read: %s", pid, exc)
                unreadable.append(pid)
        for by in ("id", "name"):
            for pid, infos in indexes.items():
                for info in infos:
                    if getattr(info, by) == reference:
                        matches.append(DocumentMatch(pid, entries[pid], info))
                        break
            if matches:
                break
        if not matches:
            skipped = f" (projects that could not be read: {', '.join(unreadable)})" if unreadable else ""
            raise NotFoundError(f"document {reference!r} not found{skipped}")
        if len(matches) > 1:
            where = ", ".join(repr(m.project_id) for m in matches)
            raise UsageError(
                f"document {reference!r} is in several projects ({where}); "
                f"ask for 'PROJECT_ID/{reference}', e.g. '{matches[0].project_id}/{reference}'"
            )
        return matches[0]


def _match(reference: str, infos: list[DocumentInfo]) -> DocumentInfo | None:
    for by in ("id", "name"):
        for info in infos:
            if getattr(info, by) == reference:
                return info
    return None


def _signature(path: Path) -> str:
    """Changes whenever a file of the project changes (name, size or mtime)."""
    digest = hashlib.sha1()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue
        digest.update(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
