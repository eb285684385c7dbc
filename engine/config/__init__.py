"""Project files: YAML with positions, `${ENV}`, JSON Schemas, findings, partners.

Every project file is read through this package (`engine.config.files`: YAML with the line
and column of each node, `${ENV}` interpolation, the file kind's JSON Schema) and every
problem is a `Finding` (`path:line:col: level CODE message`). The schemas of the file kinds
ship in `engine/config/schemas/` (`engine.config.schema`).

The project itself is loaded by `engine.config.project` (`load_project`, `validate_project`,
`Project`), routes are compiled by `engine.config.route` (`Route`, `Lookup`): they compile the
mappings and guides (`engine.mapping`, `engine.guides`), which read their files through this
package, so this package does not import them. Imports run one way: the file layer here,
then `engine.mapping` and `engine.guides`, then `engine.config.project` and `.route`
(tests/test_import_cycles.py).
"""

from __future__ import annotations

from engine.config.lint import Finding
from engine.config.partner import BY_KINDS, Partner
from engine.config.schema import KINDS
from engine.config.source import Location, Pointer, YamlFileError, YamlSource, load_yaml, parse_yaml

__all__ = [
    "BY_KINDS",
    "KINDS",
    "Finding",
    "Location",
    "Partner",
    "Pointer",
    "YamlFileError",
    "YamlSource",
    "load_yaml",
    "parse_yaml",
]
