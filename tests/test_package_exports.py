"""Every package's `__all__` is honest both ways: each name it lists exists, each class,
function or constant the package defines or imports from its own modules is listed (or is
private), and the list is sorted the way ruff sorts it (constants, classes, then the rest).
And callers outside a package import what it exports from the package, not its submodules."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import types
from pathlib import Path

import pytest

import connectors
import engine


def _packages() -> list[str]:
    found = []
    for root in (engine, connectors):
        found.append(root.__name__)
        found += [info.name for info in pkgutil.walk_packages(root.__path__, root.__name__ + ".") if info.ispkg]
    return sorted(found)


def _own_public_names(module: types.ModuleType) -> list[str]:
    """Public names the package defines, or imports from a module of its own subtree."""
    names = []
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        origin = getattr(value, "__module__", None)
        own = isinstance(origin, str) and (origin == module.__name__ or origin.startswith(module.__name__ + "."))
        if isinstance(value, type | types.FunctionType) and own:
            names.append(name)
    return names


def _ruff_order(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


@pytest.mark.parametrize("package", _packages())
def test_the_package_exports_exactly_what_it_offers(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    own = _own_public_names(module)
    if exported is None:
        assert own == [], f"{package} offers {own} but has no __all__"
        return
    assert [name for name in exported if not hasattr(module, name)] == [], f"{package}.__all__ names what it does not define"
    assert [name for name in own if name not in exported] == [], f"{package} offers names its __all__ does not list"
    assert list(exported) == sorted(exported, key=_ruff_order), f"{package}.__all__ is not sorted"


ROOT = Path(__file__).resolve().parents[1]


def _modules() -> list[tuple[str, Path]]:
    found = []
    for top in ("engine", "connectors"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def _is_package(module: str) -> bool:
    return (ROOT / module.replace(".", "/") / "__init__.py").is_file()


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_callers_import_what_a_package_offers_from_the_package(module: str, path: Path) -> None:
    """Outside a package, what the package exports is imported from it (`from engine.store
    import Store`), not from the submodule that defines it (`engine.store.store`): the package's
    `__all__` is its interface, and its modules may move. Inside the package, modules import each
    other directly."""
    own_package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    offenders = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module or node.module.split(".")[0] not in ("engine", "connectors"):
            continue
        if _is_package(node.module):
            continue
        package = node.module.rpartition(".")[0]
        if own_package == package or own_package.startswith(package + "."):
            continue
        exported = set(getattr(importlib.import_module(package), "__all__", ()))
        names = [alias.name for alias in node.names]
        if names and all(name in exported for name in names):
            offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} import {', '.join(names)} (use: from {package} import ...)")
    assert offenders == [], "\n".join(offenders)
