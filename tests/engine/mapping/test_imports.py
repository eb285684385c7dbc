"""The mapping modules import one way: no cycle between them, no import hidden in a function."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "engine" / "mapping"


def _imports(path: Path) -> tuple[set[str], list[str]]:
    """The engine.mapping modules a module imports at its top, and those imported elsewhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    nested: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("engine.mapping"):
            names = [node.module] if node.module != "engine.mapping" else [f"engine.mapping.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("engine.mapping")]
        for name in names:
            (top.add(name) if node in tree.body else nested.append(name))
    return top, nested


def test_the_mapping_modules_import_each_other_in_one_direction() -> None:
    graph = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "__init__.py":
            continue
        top, nested = _imports(path)
        assert nested == [], f"{path.name} imports {nested} inside a function"
        graph[f"engine.mapping.{path.stem}"] = top
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, " -> ".join((*trail, module))
        if module in done:
            return
        for imported in graph.get(module, set()):
            visit(imported, (*trail, module))
        done.add(module)

    for module in graph:
        visit(module, ())
