"""Complete X12 code lists that decide validity outside the segment positions: element 355.

`definitions/<version>/codes.yaml` names code values for people (`engine.x12.glossary`); most of
its lists cover only the codes the shipped sets use. The list of element 355 (Unit or Basis for
Measurement Code) is the standard's complete list for its version (794 codes in 004010, 844 in
005010; sources in docs/x12-versions.md), so an ERP unit that is one of its codes can go out
unchanged, and one that is not is refused (the `x12_unit` filter, `engine.mapping.units`).

The reader and the writer do not check 355 against this list (no segment position carries it):
what a partner sends in PO103 is its cross-reference table's business, and a unit an X12 file
uses is not refused for being outside the list.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources

import yaml

from engine.x12.definition import VERSION_RE, base_version

__all__ = ["UNIT_ELEMENT", "unit_codes", "unit_list_version"]

UNIT_ELEMENT = "355"
"""Unit or Basis for Measurement Code."""

_FALLBACK = "004010"
"""The list used for a version that ships none of its own."""


def unit_list_version(version: str) -> str:
    """The version whose 355 list is used for `version` (a GS08 value): its own when shipped,
    else 004010's."""
    base = base_version(version)
    return base if VERSION_RE.fullmatch(base) and _units(base) else _FALLBACK


def unit_codes(version: str) -> Mapping[str, str]:
    """Every 355 code of `version` (a GS08 value) with its name (see `unit_list_version`)."""
    return _units(unit_list_version(version))


@cache
def _units(version: str) -> dict[str, str]:
    path = resources.files("engine.x12.definitions").joinpath(version, "codes.yaml")
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get(UNIT_ELEMENT) or data.get(int(UNIT_ELEMENT)) or {}
    return {str(code): str(name) for code, name in entries.items()}
