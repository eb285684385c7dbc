"""ERP units of measure -> X12 element 355, for the `x12_unit` filter (`engine.mapping.filters`).

A unit goes out as, in this order:

1. the partner's own code: its cross-reference table (`xref: uom:` in `partners/<id>.yaml`,
   X12 code -> ERP unit) read the other way round, so the partner's table always wins;
2. the built-in code of a standard ERP unit (`BUILT_IN`: Business Central's `PCS`, `HOUR`,
   `BOX`; Dynamics GP's `Each`, `Case`, ...);
3. the unit itself when it is an X12 355 code of the partner's version (`CA`, `KG`, `EA`: the
   complete lists in `engine.x12.codelists`);

and anything else fails the render naming the unit, the document line and the table to add it
to. An ERP unit is never guessed (before, an unknown unit went out as `EA`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.x12.codelists import UNIT_ELEMENT, unit_codes, unit_list_version

__all__ = ["BUILT_IN", "builtin_unit", "unknown_unit_message"]

BUILT_IN: dict[str, str] = {
    # Business Central: the unit codes of the demo company (PCS, HOUR) and BOX.
    "PCS": "EA",
    "HOUR": "HR",
    "BOX": "BX",
    # Dynamics GP: unit of measure names of its U of M schedules.
    "Each": "EA",
    "Case": "CA",
    "Box": "BX",
    "Dozen": "DZ",
    "Pair": "PR",
    "Pound": "LB",
    "Hour": "HR",
}
"""ERP unit -> X12 355 code for units every project has; a partner's table comes first."""


def builtin_unit(unit: str, version: str) -> str | None:
    """The X12 code of `unit` without a partner table: the built-in code, or the unit itself
    when it is a 355 code of `version`; None when neither."""
    found = BUILT_IN.get(unit)
    if found is not None:
        return found
    return unit if unit in unit_codes(version) else None


def unknown_unit_message(unit: str, partner: Mapping[str, Any], table: str, line: Any) -> str:
    """What to tell the user about an ERP unit no table maps and X12 does not know."""
    partner_id = str(partner.get("id", "?"))
    version = str((partner.get("x12") or {}).get("version") or "004010")
    where = f"line {line.index} of the document" if hasattr(line, "index") else "the document"
    tables = partner.get("xref") or {}
    path = f"partners/{partner_id}.yaml"
    if table in tables:
        in_partner = f"partner {partner_id}'s cross-reference table {table!r} ({path}, xref: {table}:) does not map it"
    else:
        in_partner = f"partner {partner_id} has no cross-reference table {table!r} ({path} has no xref: {table}:)"
    listed = ", ".join(sorted(BUILT_IN))
    return (
        f"{where}: the unit of measure {unit!r} has no X12 code: {in_partner}, it is not a built-in unit ({listed}), "
        f"and it is not an X12 {unit_list_version(version)} unit code (element {UNIT_ELEMENT}{_similar(unit, version)}). "
        f"Add it to {path} under xref: {table}: as <X12 code>: {unit}"
    )


def _similar(unit: str, version: str) -> str:
    """X12 codes whose name starts with the unit's text (`Pallet` -> PL Pallet/Unit Load)."""
    text = unit.strip().lower()
    if len(text) < 3:
        return ""
    found = [f"{code} {name}" for code, name in unit_codes(version).items() if name.lower().startswith(text)]
    return f"; X12 has {', '.join(found[:3])}" if found else ""
