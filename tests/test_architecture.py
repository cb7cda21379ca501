"""The house as ARCHITECTURE.md draws it: which package may import which, and
no import circle between modules.

Every import counts, the ones inside functions too (a lazy import is there for
start-up time, never to hide a circle). Imports by dotted path
(``import_module``: the format registry, the destinations, the job kinds, the
checkers) are how a lower package reaches a higher one on purpose; they are
strings, and not read here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "labelport"

#: What each part of labelport may import (ARCHITECTURE.md, "Allowed arrows"),
#: from the ground up. A part is a subpackage or a top-level module.
ALLOWED: dict[str, set[str]] = {
    "_version": set(),
    "errors": set(),
    "offsets": set(),
    "progress": set(),
    "model": {"errors"},
    "guards": {"errors"},
    "iaa": {"errors", "model", "progress"},
    "report": {"_version", "guards", "iaa", "model", "progress"},
    "datasaur": {"errors", "model"},
    "validate": {"errors", "guards", "report"},
    "formats": {"datasaur", "errors", "guards", "model", "offsets", "progress", "report"},
    "delivery": {"_version", "errors", "guards", "progress"},
    "readers": {"datasaur", "errors", "formats", "guards", "model"},
    "targets": {"_version", "errors", "formats", "guards", "model", "offsets", "progress", "report", "validate"},
    "client": {"_version", "datasaur", "errors", "guards", "model", "readers", "report", "targets", "validate"},
    "conversion": {"client", "delivery", "errors", "formats", "guards", "iaa", "model", "progress", "readers", "report",
                   "targets", "validate"},
    "jobs": {"client", "conversion", "delivery", "errors", "formats", "guards", "model"},
    "api": {"conversion", "delivery", "errors", "iaa", "jobs", "model"},
    "service": {"api", "client", "conversion", "delivery", "errors", "formats", "guards", "jobs", "model", "report"},
    "cli": {"_version", "api", "client", "conversion", "delivery", "errors", "formats", "guards", "iaa", "jobs",
            "model", "offsets", "progress", "readers", "report", "service", "validate"},
    "__init__": {"_version", "api", "conversion", "errors", "model"},
    "__main__": {"cli"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """labelport module -> the labelport modules it imports (anywhere in it)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    found: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not (target == "labelport" or target.startswith("labelport.")):
                    continue
                # `from . import x` imports the submodule x where there is one
                submodules = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in modules]
                found[name].update(submodules or [target])
            elif isinstance(node, ast.Import):
                found[name].update(alias.name for alias in node.names if alias.name.startswith("labelport."))
    return {name: {t for t in targets if t in modules and t != name} for name, targets in found.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def test_every_part_is_drawn() -> None:
    parts = {_part(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert parts == set(ALLOWED), "a part of labelport that ARCHITECTURE.md does not draw, or one that is gone"


def test_parts_import_only_what_they_may() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _imports().items()
        for target in targets
        if _part(target) != _part(module) and _part(target) not in ALLOWED[_part(module)]
    )
    assert not wrong, "arrows ARCHITECTURE.md does not allow:\n" + "\n".join(wrong)


def test_allowed_arrows_run_one_way() -> None:
    """The table itself has no circle: every part stands above all it may import."""
    placed: list[str] = []
    remaining = dict(ALLOWED)
    while remaining:
        ready = [part for part, uses in remaining.items() if uses <= set(placed)]
        assert ready, f"the allowed arrows go round: {sorted(remaining)}"
        placed.extend(sorted(ready))
        for part in ready:
            del remaining[part]


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = _imports()
    circles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles:\n" + "\n".join(circles)
