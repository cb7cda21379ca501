"""Start-up stays light: ``import labelport`` loads the standard library and
labelport only, and every import left inside a function says why it waits."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "labelport"
#: The parts whose function-level imports this rule covers: all of them.
COVERED = ["."]
#: The comment an import inside a function carries (on its line, on another line of
#: its run of imports, or in a comment on the line just above): what loading it at the top
#: would cost (start-up), or that it is an optional extra whose absence gets an
#: "install" message.
REASONS = ("# (start-up:", "# (extra:")


def covered_files() -> list[Path]:
    files: list[Path] = []
    for name in COVERED:
        path = PACKAGE / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def function_import_groups(tree: ast.AST) -> list[list[ast.stmt]]:
    """Runs of consecutive import statements inside function bodies."""
    groups: list[list[ast.stmt]] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(inner, field, None)
                run: list[ast.stmt] = []
                for stmt in block if isinstance(block, list) else []:
                    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                        run.append(stmt)
                        continue
                    if run:
                        groups.append(run)
                    run = []
                if run:
                    groups.append(run)
    unique = {tuple(stmt.lineno for stmt in group): group for group in groups}
    return list(unique.values())


def test_import_labelport_loads_no_third_party_package():
    code = "import sys; before = set(sys.modules); import labelport; print('\\n'.join(sorted(set(sys.modules) - before)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(PACKAGE.parent)}).stdout.split()
    tops = {name.split(".")[0] for name in loaded}
    foreign = sorted(t for t in tops if t != "labelport" and not ({t, t.lstrip("_")} & sys.stdlib_module_names))
    assert foreign == []
    # nor the heavy labelport parts that only some commands need
    assert not {"labelport.conversion.pipeline", "labelport.readers.layout", "labelport.client.fetch",
                "labelport.delivery", "labelport.guards.egress"} & set(loaded)


@pytest.mark.parametrize("path", covered_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_import_inside_a_function_says_why(path: Path):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    unexplained = []
    for group in function_import_groups(ast.parse(text)):
        first, last = group[0].lineno, group[-1].end_lineno or group[-1].lineno
        above = lines[first - 2] if first > 1 and "#" in lines[first - 2] else ""
        if not any(reason in line for line in [above, *lines[first - 1:last]] for reason in REASONS):
            unexplained.append(f"{path.relative_to(PACKAGE)}:{first}: {lines[first - 1].strip()}")
    assert unexplained == []
