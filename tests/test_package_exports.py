"""Every package's `__all__` is honest both ways: each name it lists exists, each class,
function or constant the package defines or imports from its own modules is listed (or is
private), and the list is sorted the way ruff sorts it (constants, classes, then the rest)."""

from __future__ import annotations

import importlib
import pkgutil
import types

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
