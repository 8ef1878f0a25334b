"""The import graph of the project's packages: no cycle between modules, and no arrow against the intended flow
`fetchers → db ← indicators ← forecasts`, `aitrack` wiring them, `contracts` at the bottom (docs/architecture.md).

Imports are read from the source with `ast` (nothing is imported): module-level imports for cycles (they run at
import time), every import — function-level ones included — for the layer rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("contracts", "db", "fetchers", "indicators", "forecasts", "aitrack")
# Which project packages each package may import (itself always).
ALLOWED: dict[str, frozenset[str]] = {
    "contracts": frozenset(),
    "db": frozenset({"contracts"}),
    "fetchers": frozenset({"contracts"}),
    "indicators": frozenset({"contracts"}),
    "forecasts": frozenset({"contracts", "indicators"}),
    "aitrack": frozenset({"contracts", "db", "fetchers", "indicators", "forecasts"}),
}


# Scripts other programs run, not modules the application imports: Alembic's env.py reads the database URL from the
# application's settings when the alembic CLI runs it without one (STYLE.md), so it may import aitrack.
ENTRY_POINTS = frozenset({"db.migrations.env"})


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, *, module_level_only: bool) -> set[str]:
    """Absolute names of the project modules a file imports (`from a.b import c` counts `a.b.c` if it is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes, top: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if not module_level_only:
                    visit(node.body, False)
                elif isinstance(node, ast.ClassDef):
                    visit(node.body, top)  # a class body runs at import time
            elif hasattr(node, "body"):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    visit(getattr(node, field, []) or [], top)

    visit(tree.body, True)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def test_no_arrow_against_the_flow():
    modules = project_modules()
    offences = []
    for name, path in sorted(modules.items()):
        package = name.split(".")[0]
        if name in ENTRY_POINTS:
            continue
        for target in sorted(imports(path, module_level_only=False)):
            other = target.split(".")[0]
            if other != package and other not in ALLOWED[package]:
                offences.append(f"{name} imports {target}")
    assert not offences, "imports against the layer flow:\n" + "\n".join(offences)


def test_no_import_cycle_between_modules():
    modules = project_modules()
    graph = {
        name: {t for t in imports(path, module_level_only=True) if t in modules and t != name}
        for name, path in modules.items()
    }
    # A package's __init__ importing its own submodules is how packages are built, not a cycle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := dfs(start)):
            pytest.fail("import cycle: " + " → ".join(cycle))


def test_no_silent_import_fallbacks():
    """A broken module must fail loudly: no `except ImportError` in the project (optional extras are imported
    where they are used and fail there with their own message)."""
    offenders = []
    for name, path in project_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = [n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)]
                if {"ImportError", "ModuleNotFoundError"} & set(names):
                    offenders.append(f"{name}:{node.lineno}")
    assert not offenders, "except ImportError in: " + ", ".join(offenders)
