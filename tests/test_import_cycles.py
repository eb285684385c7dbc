"""Modules import one way: no import cycle through the modules of the checked packages.

The graph is read from the source with `ast`: every `import` and `from ... import` of a project
module, at module level or inside a function (a function-level import is a cycle deferred, not
removed), except those under `if TYPE_CHECKING:` (for the type checker only). Importing
`a.b.c` also runs the packages `a` and `a.b` (their `__init__`), so an import of a module is an
import of its packages as well, unless the importer is inside them already. A cycle is a
strongly connected component of that graph; it is reported with the import lines that make it.

`UNCHECKED` lists the packages whose modules may still import each other in a circle, each
with the reason; remove an entry once the cycle is gone, and the package is checked (it is
empty: engine.runtime's steps take a `Context` since issue 13 part 4). Within the runtime, the
steps never import `engine.runtime.runtime` at all, and nothing there imports inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREES = ("engine", "connectors")
UNCHECKED: dict[str, str] = {}

Graph = dict[str, dict[str, int]]
"""module -> {imported module: the line of the (first) import}"""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _packages_of(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                skipped.update(id(child) for child in ast.walk(statement))
    return skipped


def _imports(path: Path, module: str, modules: set[str]) -> dict[str, int]:
    """The project modules `module` (the file `path`) imports anywhere, with their lines."""

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets: list[str | None] = []
        if isinstance(node, ast.Import):
            targets = [known(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            targets = [known(f"{base}.{a.name}") if f"{base}.{a.name}" in modules else known(base) for a in node.names]
        for target in targets:
            if target is not None and target != module:
                found.setdefault(target, node.lineno)
    inside = set(_packages_of(module))
    for target, line in list(found.items()):
        for package_name in _packages_of(target):
            if package_name in modules and package_name not in inside and package_name != module:
                found.setdefault(package_name, line)
    return found


@cache
def import_graph() -> Graph:
    """The import graph of every module of `TREES` (module docstring)."""
    files = {_module_name(path): path for tree in TREES for path in sorted((ROOT / tree).rglob("*.py"))}
    names = set(files)
    return {module: _imports(path, module, names) for module, path in files.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, without
    recursion), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, {})))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def described(component: list[str], graph: Graph) -> str:
    members = set(component)
    lines = [f"{a.replace('.', '/')}.py:{graph[a][b]} imports {b}" for a in component for b in sorted(graph[a]) if b in members]
    return "an import cycle of " + ", ".join(component) + ":\n  " + "\n  ".join(lines)


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _unchecked(module: str) -> bool:
    return any(_in(module, package) for package in UNCHECKED)


def _checked_packages() -> list[str]:
    packages = sorted({m for m in import_graph() if (ROOT / m.replace(".", "/") / "__init__.py").is_file()})
    return [p for p in packages if not _unchecked(p)]


@pytest.mark.parametrize("package", _checked_packages())
def test_no_import_cycle_runs_through_the_package(package: str) -> None:
    # a cycle among modules of UNCHECKED packages only is theirs; one that reaches a module of
    # `package` outside them is this package's
    graph = import_graph()
    through = [c for c in cycles(graph) if any(_in(m, package) and not _unchecked(m) for m in c)]
    assert through == [], "\n".join(described(c, graph) for c in through)


def test_the_unchecked_packages_exist_and_still_have_a_cycle() -> None:
    # an entry whose cycle is gone is removed, so the package is checked from then on
    graph = import_graph()
    found = cycles(graph)
    for package in UNCHECKED:
        assert (ROOT / package.replace(".", "/") / "__init__.py").is_file(), package
        assert any(any(_in(m, package) for m in c) for c in found), f"{package} has no import cycle any more: remove it from UNCHECKED"


@pytest.mark.parametrize(
    ("modules", "expected"),
    [
        pytest.param({"p.a": "import p.b", "p.b": "def f():\n    import p.a\n"}, [["p.a", "p.b"]], id="a-function-level-import-closes-it"),
        pytest.param(
            {"p.a": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import p.b\n", "p.b": "import p.a"}, [], id="type-checking-only"
        ),
        pytest.param({"p": "from p.a import x", "p.a": "x = 1", "q.b": "from p.a import x", "p.c": "import q.b"}, [], id="siblings-no-cycle"),
        pytest.param(
            {"p": "from p.a import x", "p.a": "import q.b\nx = 1", "q": "", "q.b": "from p.c import y", "p.c": "y = 1"},
            [["p", "p.a", "q.b"]],
            id="through-a-package-init",
        ),
    ],
)
def test_cycles_are_found_through_function_level_imports_and_package_inits(
    tmp_path: Path, modules: dict[str, str], expected: list[list[str]]
) -> None:
    files = {}
    for name, text in modules.items():
        is_package = any(other.startswith(name + ".") for other in modules)
        path = tmp_path / (name.replace(".", "/") + ("/__init__.py" if is_package else ".py"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        files[name] = path
    graph = {name: _imports(path, name, set(modules)) for name, path in files.items()}
    assert cycles(graph) == expected


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
