"""The standard mappings, shipped inside the package: a library projects use by name.

`engine/library/mappings/<name>/mapping.yaml` are the standard mappings (BC invoices to 810,
BC and GP orders to 850, inbound 850/855/856/997, GP JSON payloads). A project uses one by
naming it (a route's `mapping:`, a partner override, an overlay's `extends:`) without copying
it; a project's own `mappings/<name>/mapping.yaml` of the same name takes its place. The
golden cases of the standard mappings are the example project's (the repository root's
`mappings/<name>/cases/`), because cases name partners and partners belong to a project.

`samples/<name>/` holds one input document per standard mapping that `mlc init` starts a
new project's golden cases from.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["DISPLAY_PREFIX", "display_path", "mapping_file", "mapping_names", "sample_dir"]

DISPLAY_PREFIX = "<mlc>/mappings"
"""How messages name a shipped mapping file: `<mlc>/mappings/<name>/mapping.yaml`."""


def _root() -> Traversable:
    return resources.files(__name__)


@cache
def mapping_names() -> tuple[str, ...]:
    """The names of the shipped mappings, sorted."""
    base = _root().joinpath("mappings")
    return tuple(sorted(p.name for p in base.iterdir() if p.is_dir() and p.joinpath("mapping.yaml").is_file()))


def mapping_file(name: str) -> Traversable | None:
    """The mapping.yaml of a shipped mapping, or None when there is none of that name."""
    if name not in mapping_names():
        return None
    return _root().joinpath("mappings", name, "mapping.yaml")


def display_path(name: str) -> str:
    """The path messages show for a shipped mapping."""
    return f"{DISPLAY_PREFIX}/{name}/mapping.yaml"


def sample_dir(name: str) -> Traversable | None:
    """The sample input folder of a shipped mapping (`mlc init`), or None."""
    folder = _root().joinpath("samples", name)
    return folder if folder.is_dir() else None
