"""The filters and functions mappings use for X12 work (besides Jinja's own).

The table in docs/project-format.md lists them. Each raises MappingError with what it received
and what it accepts; `Value.evaluate` adds the mapping file and line.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import Undefined, pass_context
from jinja2.runtime import Context

from engine.errors import MappingError
from engine.mapping.paths import compile_jsonpath
from engine.mapping.units import builtin_unit, unknown_unit_message

MISSING: Any = object()

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_ISO_TIME = re.compile(r"(?:^|T)(\d{2}):(\d{2})(?::(\d{2}))?")

# Where the product id qualifier/id pairs start in segments that carry them.
_PAIR_START = {"PO1": 6, "IT1": 6, "LIN": 2, "ACK": 7, "SLN": 9, "PO3": 0, "CTP": 0, "SN1": 0, "PID": 0}


def x12_date(value: Any, width: int = 8) -> str:
    """`date`/`datetime` or ISO text -> CCYYMMDD (YYMMDD with width 6); 6/8-digit text kept."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime | date):
        text = value.strftime("%Y%m%d")
    else:
        raw = str(value).strip()
        if raw.isdigit() and len(raw) in (6, 8):
            text = raw if len(raw) == 8 or width == 6 else ("20" + raw)
        else:
            match = _ISO_DATE.match(raw)
            if not match:
                raise MappingError(f"{raw!r} is not a date (expected YYYY-MM-DD or CCYYMMDD)")
            text = "".join(match.groups())
    return text[2:] if width == 6 and len(text) == 8 else text


def x12_time(value: Any, width: int = 4) -> str:
    """`time`/`datetime` or ISO text (`14:03`, `...T14:03:11Z`) -> HHMM (HHMMSS with width 6)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime | time):
        text = value.strftime("%H%M%S")
    else:
        raw = str(value).strip()
        if raw.isdigit() and len(raw) in (4, 6, 8):
            return raw  # already X12: kept as given
        else:
            match = _ISO_TIME.search(raw)
            if not match:
                raise MappingError(f"{raw!r} is not a time (expected HH:MM[:SS] or HHMM)")
            text = match.group(1) + match.group(2) + (match.group(3) or "00")
    return text[: max(width, 4)]


def iso_date(value: Any) -> str:
    """X12 CCYYMMDD (or YYMMDD) -> `2024-06-03`; empty stays empty."""
    if value is None or value == "":
        return ""
    raw = str(value).strip()
    if raw.isdigit() and len(raw) == 6:
        raw = "20" + raw
    if not (raw.isdigit() and len(raw) == 8):
        raise MappingError(f"{raw!r} is not an X12 date (expected CCYYMMDD)")
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:])).isoformat()
    except ValueError:
        raise MappingError(f"{raw!r} is not a valid calendar date") from None


def iso_time(value: Any) -> str:
    """X12 HHMM[SS] -> `14:00` / `14:00:05`."""
    if value is None or value == "":
        return ""
    raw = str(value).strip()
    if not (raw.isdigit() and len(raw) in (4, 6, 8)):
        raise MappingError(f"{raw!r} is not an X12 time (expected HHMM or HHMMSS)")
    return ":".join(raw[i : i + 2] for i in range(0, min(len(raw), 6), 2))


def number(value: Any) -> int | float:
    """Text -> int when integral, else float (`"5"` -> 5, `"1000.8"` -> 1000.8)."""
    if isinstance(value, bool):
        raise MappingError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    if text.isdigit() and text.isascii():
        return int(text)  # what the Decimal below gives for plain digits, without it
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise MappingError(f"{value!r} is not a number") from None
    if not parsed.is_finite():
        raise MappingError(f"{value!r} is not a number")
    return int(parsed) if parsed == parsed.to_integral_value() else float(parsed)


def implied(value: Any, decimals: int = 2) -> float:
    """X12 Nn text -> number (`"106000" | implied(2)` -> 1060.0)."""
    raw = str(value).strip()
    if not re.fullmatch(r"-?\d+", raw):
        raise MappingError(f"{raw!r} is not an N{decimals} number (digits only, implied decimals)")
    return float(int(raw) / (10**decimals))


def pad(value: Any, width: int, char: str = " ", left: bool = False) -> str:
    """Pad text to `width` (right by default, left for numbers such as `0042`)."""
    text = "" if value is None else str(value)
    return text.rjust(width, char) if left else text.ljust(width, char)


@pass_context
def xref(context: Context, value: Any, table: str, default: Any = MISSING, reverse: bool = False) -> Any:
    """Look `value` up in the partner's cross-reference table `table`.

    An unknown value with no default is recorded (so one render names every unresolved key,
    not only the first) and fails the render when it ends.
    """
    partner = context.get("partner") or {}
    tables = partner.get("xref") or {}
    if table not in tables:
        if default is not MISSING:
            return default
        raise MappingError(
            f"partner {partner.get('id', '?')!r} has no cross-reference table {table!r} "
            f"(tables: {', '.join(sorted(tables)) or 'none'})"
        )
    entries = tables[table]
    if reverse:
        entries = _reversed(entries)
    key = "" if value is None else str(value)
    if key in entries:
        return entries[key]
    if default is not MISSING:
        return default
    state = context.get("_state")
    if state is not None:
        state.unresolved.append((table, key))
        return key
    raise MappingError(f"{key!r} is not in partner {partner.get('id', '?')!r} cross-reference table {table!r}")


_REVERSED: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _reversed(entries: dict[str, Any]) -> dict[str, Any]:
    """ERP value -> partner value for one table, built once per table (not per lookup: a
    table can hold thousands of items and a lookup runs per document line). The cache keeps
    the table itself, so its id cannot be reused while the entry exists; partner tables are
    not changed after the project is loaded."""
    cached = _REVERSED.get(id(entries))
    if cached is None or cached[0] is not entries:
        if len(_REVERSED) >= 1024:
            _REVERSED.clear()
        cached = _REVERSED[id(entries)] = (entries, {str(v): k for k, v in entries.items()})
    return cached[1]


@pass_context
def x12_unit(context: Context, value: Any, table: str = "uom") -> str:
    """An ERP unit of measure as an X12 355 code: the partner's `table` (X12 code -> ERP unit,
    read the other way round), else the built-in code of a standard unit, else the unit itself
    when it is a 355 code of the partner's version; anything else fails the render naming the
    unit, the document line and the table to add it to (`engine.mapping.units`). An empty unit
    stays empty (the segment's syntax notes say when a unit is required)."""
    if value is None or value == "":
        return ""
    unit = str(value)
    partner = context.get("partner") or {}
    entries = (partner.get("xref") or {}).get(table)
    if isinstance(entries, dict):
        mapped = _reversed(entries).get(unit)
        if mapped is not None:
            return str(mapped)
    found = builtin_unit(unit, str((partner.get("x12") or {}).get("version") or "004010"))
    if found is None:
        raise MappingError(unknown_unit_message(unit, partner, table, context.get("loop")))
    return found


def code(value: Any, table: dict[str, Any], default: Any = MISSING) -> Any:
    """Translate with an inline table: `{{ uom | code({'PCS': 'EA'}) }}`."""
    key = "" if value is None else str(value)
    if key in table:
        return table[key]
    if default is not MISSING:
        return default
    known = ", ".join(repr(k) if k == "" else str(k) for k in sorted(map(str, table)))
    raise MappingError(f"{key!r} has no translation (known: {known})")


def product_id(segment: Any, *qualifiers: str) -> str:
    """The product id of the first qualifier found in a segment's qualifier/id pairs.

    `line.PO1 | product_id('BP', 'VP')`: PO106/PO107, PO108/PO109, ... are scanned for `BP`,
    then for `VP`. Empty when none is present.
    """
    if not isinstance(segment, dict) or not segment:
        return ""
    first = next(iter(segment))
    tag = first[:-2]
    start = _PAIR_START.get(tag, 0)
    size = len(tag)
    positions = _POSITIONS.get(size)
    if positions is None or len(positions) > 4096:
        positions = _POSITIONS[size] = {}
    values = {}
    for key, value in segment.items():
        position = positions.get(key, MISSING)
        if position is MISSING:
            suffix = key[size:]
            position = positions[key] = int(suffix) if suffix.isdigit() else None
        if position is not None:
            values[position] = value
    highest = max(values, default=0)
    for qualifier in qualifiers:
        position = start or 1
        while position <= highest:
            if values.get(position) == qualifier and isinstance(values.get(position + 1), str):
                return str(values[position + 1])
            position += 2 if start else 1
    return ""


_POSITIONS: dict[int, dict[str, int | None]] = {}
"""Element positions by key (`PO107` -> 7), per length of the segment id: read once."""


def qualified(segments: Any, qualifier_element: str, qualifier: str, value_element: str) -> Any:
    """From one segment or a list of them, `value_element` of the first whose qualifier matches.

    `doc.DTM | qualified('DTM01', '002', 'DTM02')` -> the requested delivery date, or empty.
    """
    items = segments if isinstance(segments, list) else [segments]
    for item in items:
        if isinstance(item, dict) and item.get(qualifier_element) == qualifier:
            return item.get(value_element, "")
    return ""


def _keys(path: str) -> tuple[str, ...]:
    """A dotted path's steps (split once per path)."""
    if type(path) is not str:
        return tuple(path.split("."))  # whatever that raises, as before
    keys = _PATHS.get(path)
    if keys is None:
        if len(_PATHS) > 1024:
            _PATHS.clear()
        keys = _PATHS[path] = tuple(path.split("."))
    return keys


_PATHS: dict[str, tuple[str, ...]] = {}


def _dig(value: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if type(value) is dict:
            value = value.get(key, MISSING)
            if value is MISSING:
                return MISSING
        elif isinstance(value, dict):
            if key not in value:
                return MISSING
            value = value[key]
        elif isinstance(value, list) and key.lstrip("-").isdigit():
            index = int(key)
            if not -len(value) <= index < len(value):
                return MISSING
            value = value[index]
        else:
            return MISSING
    return value


def where(items: Any, path: str, *values: Any) -> list[Any]:
    """The items whose dotted `path` equals one of `values` (JSONPath's `[?(@.a.b == 'x')]`,
    without its cost): `doc.N1_loop | where('N1.N101', 'ST')`. Missing items give []."""
    if isinstance(items, Undefined) or items is None:
        return []
    keys = _keys(path)
    return [item for item in (items if isinstance(items, list) else [items]) if _dig(item, keys) in values]


def dig(value: Any, path: str, default: Any = "") -> Any:
    """A nested value by dotted path (`0.N3.0.N301`: list indexes allowed), or `default` when
    any step is missing: for optional parts of a document."""
    if isinstance(value, Undefined):
        return default
    found = _dig(value, _keys(path))
    return default if found is MISSING else found


def jsonpath(value: Any, path: str) -> list[Any]:
    """Every match of a JSONPath on a value."""
    return [match.value for match in compile_jsonpath(path).find(value)]


def _hl_parents(doc: Any) -> dict[int, Any]:
    """Each HL loop of a parsed transaction (by identity) -> the HL loop it is nested in
    (None at the top): the tree nests them by HL02 (`engine.x12.structure`)."""
    parents: dict[int, Any] = {}
    pending = [doc]
    while pending:
        obj = pending.pop()
        loops = obj.get("HL_loop") if type(obj) is dict else None
        for child in loops if isinstance(loops, list) else [loops] if loops is not None else []:
            if type(child) is dict:
                parents[id(child)] = obj if "HL" in obj else None
                pending.append(child)
    return parents


def _hl(level: Any, element: str) -> str:
    header = level.get("HL") if isinstance(level, dict) else None
    return str(header.get(element, "?")) if isinstance(header, dict) else "?"


@pass_context
def hl_ancestor(context: Context, level: Any, code: str) -> Any:
    """The nearest HL level above `level` (an HL loop of the document) whose HL03 is `code`.

    `item | hl_ancestor('O')` is an item's order level, whether the item hangs under the order
    or under one of its packs (S/O/I, S/O/P/I). The document's HL tree is indexed once per
    render, so a loop over every item stays linear in the size of the document.
    """
    doc = context.get("doc")
    state = context.get("_state")
    cache = getattr(state, "cache", None)
    key = ("hl_parents", id(doc))
    parents = cache.get(key) if cache is not None else None
    if parents is None:
        parents = _hl_parents(doc)
        if cache is not None:
            cache[key] = parents
    if id(level) not in parents:
        raise MappingError(f"hl_ancestor: {str(level)[:60]!r} is not an HL level of this document")
    above: list[str] = []
    node = parents[id(level)]
    while node is not None:
        if _hl(node, "HL03") == code:
            return node
        above.append(f"{_hl(node, 'HL01')} ({_hl(node, 'HL03')})")
        node = parents.get(id(node))
    listed = ", ".join(above) or "none: it is a top level"
    raise MappingError(f"HL {_hl(level, 'HL01')} ({_hl(level, 'HL03')}) has no level {code!r} above it (levels above: {listed})")


FILTERS: dict[str, Any] = {
    "code": code,
    "dig": dig,
    "hl_ancestor": hl_ancestor,
    "implied": implied,
    "iso_date": iso_date,
    "iso_time": iso_time,
    "jsonpath": jsonpath,
    "number": number,
    "pad": pad,
    "product_id": product_id,
    "qualified": qualified,
    "where": where,
    "x12_date": x12_date,
    "x12_time": x12_time,
    "x12_unit": x12_unit,
    "xref": xref,
}


TOLERANT = frozenset({"dig", "where"})
"""Filters that take a missing value as empty (they test for Jinja's undefined themselves)."""


def fail(message: str) -> Any:
    """Stop the render with a message of the mapping's own: `{{ fail('no ship-to party') }}`."""
    raise MappingError(str(message))


GLOBALS: dict[str, Any] = {"fail": fail}
