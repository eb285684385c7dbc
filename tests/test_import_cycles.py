"""Modules import one way: no cycle among the module-level imports of the connectors (an import
under `if TYPE_CHECKING:` is for the type checker only and does not count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules `path` imports when it is loaded (module level, outside TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in modules else node.module)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, block, []):
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(tree.body)
    return {name for name in found if name in modules}


def _graph(package: str) -> dict[str, set[str]]:
    files = sorted((ROOT / package).rglob("*.py"))
    modules = {_module_name(path) for path in files}
    return {_module_name(path): _runtime_imports(path, modules) - {_module_name(path)} for path in files}


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for target in sorted(graph.get(node, ())):
            if target == start:
                return [*path, start]
            if target not in seen and not start.startswith(target + ".") and not target.startswith(start + "."):
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


@pytest.mark.parametrize("module", ["connectors.bc.client", "connectors.bc.webhooks", "connectors.bc.odata"])
def test_the_bc_connector_and_its_webhooks_import_one_way(module: str) -> None:
    graph = _graph("connectors")
    assert _cycle_through(graph, module) is None


def test_the_webhook_module_does_not_import_the_connector_module_at_load_time() -> None:
    graph = _graph("connectors")
    assert "connectors.bc.client" not in graph["connectors.bc.webhooks"]
    assert "connectors.bc.webhooks" in graph["connectors.bc.client"]
