"""An inbound payload checked against the ERP entity it is written to, as it is rendered.

A mapping that renders a wrong value for an ERP field (an X12 date `20240601` where Business
Central wants `2024-06-01`, the text `"five"` as a quantity, a key the entity does not have)
would be sent and refused by the ERP, or worse, taken. `engine.mapping.inbound` checks every
value against the target entity's `EntityShape` (from the connector plugin's `payload_shape`,
attached to the mapping when the project is loaded, `engine.config.project`), and the render
fails with a `MappingError` naming the payload field, the value, what is valid and the mapping
line the value came from.

What is checked, by `FieldType.kind`: `date` is text `YYYY-MM-DD` of a real day; `datetime` is
ISO 8601 with a zone (`2024-06-01T10:00:00Z`); `decimal` a JSON number, `integer` a whole one
(not a boolean, not text: `| number` makes one); `boolean` true or false; `guid` the 8-4-4-4-12
hex form; `string` text, within the maximum length where the connector knows it; `enum` text,
one of its values where they are known. `null` is none of these (a key with no value is left
out with `when:`). Keys starting with `_` (the runtime's own, never sent) and `@odata.` are not
checked; in a closed shape, any other key the entity does not have is refused.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from engine.plugins import EntityShape, FieldType

__all__ = ["Check", "PayloadError", "field_check", "field_problem", "is_checked", "shown", "unknown_field"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})")
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")

_EXPECTED = {
    "date": "a date YYYY-MM-DD (e.g. 2024-06-01; from an X12 date: | iso_date)",
    "datetime": "a date and time with its zone, e.g. 2024-06-01T10:00:00Z",
    "decimal": "a number (from X12 text: | number)",
    "integer": "a whole number (from X12 text: | number)",
    "boolean": "true or false",
    "guid": "a GUID such as 00000000-0000-0000-0000-000000000000",
    "string": "text",
    "enum": "text",
}


class PayloadError(Exception):
    """A payload value that its entity refuses; `path` grows as it travels up to the payload's
    root (`salesOrderLines[2].quantity`), `where` is the mapping line of the value."""

    def __init__(self, path: str, problem: str, where: str) -> None:
        super().__init__(problem)
        self.path = path
        self.problem = problem
        self.where = where

    def within(self, parent: str) -> PayloadError:
        """The same error one level up (`parent` is a key, or `[i]` for a list item)."""
        joined = f"{parent}{self.path}" if self.path.startswith("[") else f"{parent}.{self.path}"
        return PayloadError(joined, self.problem, self.where)

    def message(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{where}the payload field {self.path} {self.problem}"


def is_checked(key: str) -> bool:
    """Whether a payload key is the entity's (not the runtime's `_...` or an `@odata.` key)."""
    return not key.startswith(("_", "@odata."))


def unknown_field(shape: EntityShape, key: str) -> str | None:
    """What is wrong with `key` in a payload for `shape`: None when the entity has it (or the
    shape is open)."""
    if not shape.closed or key in shape.fields:
        return None
    close = difflib.get_close_matches(key, sorted(shape.fields), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"is not a field of {shape.entity}{hint}"


def field_problem(shape: EntityShape, key: str, value: Any) -> str | None:
    """What is wrong with `value` for the field `key` of `shape` (None: nothing, or the field's
    type is not known)."""
    check = field_check(shape, key)
    return None if check is None else check(value)


Check = Callable[[Any], "str | None"]
"""A field's check: what is wrong with a value (None: nothing)."""


def field_check(shape: EntityShape, key: str) -> Check | None:
    """The check of the field `key` of `shape` (None when its type is not known): the common
    right value passes on a type test alone, anything else gets the full description."""
    kind = shape.types.get(key)
    if kind is None:
        return None

    def describe(value: Any) -> str | None:
        problem = _problem(kind, value)
        if problem is None:
            return None
        source = f" ({kind.source})" if kind.source else ""
        return f"got {shown(value)}: {problem}; {shape.entity}.{key}{source} takes {_valid(kind)}"

    name = kind.kind
    if name == "string" and kind.max_length is None:
        return lambda value: None if type(value) is str else describe(value)
    if name == "enum" and kind.values:
        values = frozenset(kind.values)
        return lambda value: None if type(value) is str and value in values else describe(value)
    if name == "decimal":
        return lambda value: None if (type(value) is int or type(value) is float) and math.isfinite(value) else describe(value)
    if name == "integer":
        return lambda value: None if type(value) is int else describe(value)
    if name == "boolean":
        return lambda value: None if type(value) is bool else describe(value)
    return describe


def _problem(kind: FieldType, value: Any) -> str | None:
    name = kind.kind
    if value is None:
        return "null is not a value (leave the key out with when: instead)"
    if name == "decimal" or name == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{'text' if isinstance(value, str) else _what(value)} is not a number"
        if not math.isfinite(value):
            return "not a finite number"
        if name == "integer" and not isinstance(value, int):
            return "not a whole number"
        return None
    if name == "boolean":
        return None if isinstance(value, bool) else "not true or false"
    if not isinstance(value, str):
        return f"{_what(value)}, not text"
    if name == "date":
        return _date_problem(value)
    if name == "datetime":
        if not _DATETIME.fullmatch(value):
            return "not a date and time with its zone"
        return _date_problem(value[:10])
    if name == "guid":
        return None if _GUID.fullmatch(value) else "not a GUID"
    if name == "enum" and kind.values and value not in kind.values:
        return "not one of its values"
    if kind.max_length is not None and len(value) > kind.max_length:
        return f"{len(value)} characters, more than {kind.max_length}"
    return None


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _date_problem(text: str) -> str | None:
    if not _DATE.fullmatch(text):
        if text.isdigit() and len(text) in (6, 8):
            return "an X12 date (CCYYMMDD), not an ERP date"
        return "not a date YYYY-MM-DD"
    try:
        date.fromisoformat(text)
    except ValueError:
        return "not a day of the calendar"
    return None


def _valid(kind: FieldType) -> str:
    if kind.kind == "enum" and kind.values:
        return "one of " + ", ".join(kind.values)
    if kind.kind == "string" and kind.max_length is not None:
        return f"text of at most {kind.max_length} characters"
    return _EXPECTED[kind.kind]


def shown(value: Any) -> str:
    """A payload value as the message shows it (JSON-like, cut at 60 characters)."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, datetime | date):
        return f"the {type(value).__name__} {value.isoformat()}"
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
