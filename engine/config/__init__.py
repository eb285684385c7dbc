"""Project configuration: YAML files with positions, `${ENV}`, JSON Schemas, partners, routes.

`load_project` / `validate_project` (engine.config.project) read a project directory and
report every problem as a `Finding` (`path:line:col: level CODE message`). The schemas of the
file kinds ship in `engine/config/schemas/` (`engine.config.schema`).
"""

from __future__ import annotations

from engine.config.lint import Finding
from engine.config.partner import BY_KINDS, Partner
from engine.config.project import Project, load_project, validate_project
from engine.config.route import (
    AcknowledgmentFields,
    EntitySource,
    EntityTarget,
    FolderSource,
    FolderTarget,
    Locked,
    Lookup,
    Route,
    StoreTarget,
)
from engine.config.schema import KINDS
from engine.config.source import Location, Pointer, YamlFileError, YamlSource, load_yaml, parse_yaml

__all__ = [
    "BY_KINDS",
    "KINDS",
    "AcknowledgmentFields",
    "EntitySource",
    "EntityTarget",
    "Finding",
    "FolderSource",
    "FolderTarget",
    "Location",
    "Locked",
    "Lookup",
    "Partner",
    "Pointer",
    "Project",
    "Route",
    "StoreTarget",
    "YamlFileError",
    "YamlSource",
    "load_project",
    "load_yaml",
    "parse_yaml",
    "validate_project",
]
