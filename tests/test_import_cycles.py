"""Modules import one way: no cycle among the module-level imports of the connectors and of the
runtime (an import under `if TYPE_CHECKING:` is for the type checker only and does not count);
the runtime's steps never import `engine.runtime.runtime`, and nothing in the runtime imports
inside a function."""

from __future__ import annotations

import ast
import graphlib
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


RUNTIME = "engine.runtime"
RUNTIME_USERS = {"engine.runtime", "engine.runtime.replay", "engine.runtime.runtime", "engine.runtime.setup"}
"""The package, the runtime itself and the commands over a whole `Runtime` (open it, replay a
job through `Runtime.work`); every other module of the package is a step, given a `Context`."""


def _runtime_files() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((ROOT / "engine" / "runtime").glob("*.py"))}


def _every_import(tree: ast.AST) -> list[str]:
    """Every module an `import` names anywhere in `tree` (TYPE_CHECKING blocks and functions too)."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return found


def _function_imports(tree: ast.AST) -> list[int]:
    """Lines of the imports inside a function body, outside `if TYPE_CHECKING:`."""
    lines: list[int] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child, in_function)
            return
        if in_function and isinstance(node, ast.Import | ast.ImportFrom):
            lines.append(node.lineno)
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return lines


def test_the_runtime_package_imports_one_way() -> None:
    graph = {name: {target for target in targets if target.startswith(RUNTIME + ".")} for name, targets in _graph("engine").items() if name.startswith(RUNTIME + ".")}
    assert set(graph) == set(_runtime_files()) - {RUNTIME}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"the runtime's modules import in a cycle: {' -> '.join(exc.args[1])}") from None
    assert order.index("engine.runtime.context") < order.index("engine.runtime.execute") < order.index("engine.runtime.runtime")


@pytest.mark.parametrize("module", sorted(set(_runtime_files()) - RUNTIME_USERS))
def test_a_runtime_step_never_imports_the_runtime_module(module: str) -> None:
    tree = ast.parse(_runtime_files()[module].read_text(encoding="utf-8"))
    named = _every_import(tree)
    assert "engine.runtime.runtime" not in named
    assert "engine.runtime.Runtime" not in named


@pytest.mark.parametrize("module", sorted(_runtime_files()))
def test_nothing_in_the_runtime_imports_inside_a_function(module: str) -> None:
    tree = ast.parse(_runtime_files()[module].read_text(encoding="utf-8"))
    assert _function_imports(tree) == [], f"{module} imports inside a function at line(s) {_function_imports(tree)}"
