"""The OData query subset the Business Central emulator understands, and its error type.

    $filter   field op literal [and field op literal ...]; op is eq ne gt ge lt le; literals are
              'strings' (quotes doubled), numbers, true/false, GUIDs, dates and unquoted
              ISO date-times (`lastModifiedDateTime gt 2024-05-02T14:03:11.217Z`)
    $orderby  field [asc|desc][, ...]
    $top / $skip, $select, $skiptoken (opaque: encodes the sort key of the last entity served)

Anything else in a filter is refused with 400 and a message naming the supported subset, so a
connector relying on more is found out in tests rather than silently served wrong data.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

QUERY_SAFE = "$,()':*"
"""Characters left as they are in query values of generated links (spaces become %20)."""


class ODataError(Exception):
    """An error answer: HTTP status plus BC's `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON error body, with a correlation id appended as BC does."""
        return {"error": {"code": self.code, "message": f"{self.message}  CorrelationId:  {uuid.uuid4()}."}}


def bad_request(message: str, code: str = "BadRequest") -> ODataError:
    """A 400 answer."""
    return ODataError(400, code, message)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
}
_CONDITION = re.compile(
    r"\s*(?P<field>[A-Za-z_]\w*)\s+(?P<op>eq|ne|gt|ge|lt|le)\s+"
    r"(?P<value>'(?:[^']|'')*'|[^\s()']+)\s*",
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_datetime(text: str) -> datetime:
    """An ISO date-time with offset (Z allowed) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def format_datetime(moment: datetime) -> str:
    """BC's form of a UTC date-time: milliseconds and a Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _literal(text: str) -> Any:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if _GUID.match(text) or _DATE.match(text):
        return text.lower() if _GUID.match(text) else text
    if _DATETIME.match(text):
        return parse_datetime(text)
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise bad_request(
            f"Invalid literal {text!r} in $filter: strings need single quotes; date-times are unquoted ISO "
            "values such as 2024-05-02T14:03:11.217Z."
        ) from None


@dataclass(frozen=True)
class Condition:
    """One `field op literal` of a filter."""

    field: str
    op: str
    value: Any

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether `record` satisfies the condition (date-times compared as instants)."""
        actual = record.get(self.field)
        expected = self.value
        if isinstance(expected, datetime):
            if not isinstance(actual, str) or not actual:
                return False
            actual = parse_datetime(actual)
        elif isinstance(actual, str) and _GUID.match(actual):
            actual = actual.lower()
        if actual is None or expected is None:
            return self.op in ("eq", "ne") and OPERATORS[self.op](actual, expected)
        try:
            return OPERATORS[self.op](actual, expected)
        except TypeError:
            raise bad_request(
                f"Cannot compare property '{self.field}' ({type(actual).__name__}) with {self.value!r}."
            ) from None


def parse_filter(text: str, fields: dict[str, Any], type_name: str) -> list[Condition]:
    """The conditions of `$filter` (all must hold); 400 for syntax outside the subset."""
    conditions: list[Condition] = []
    rest = text.strip()
    while rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1].strip()
    parts = re.split(r"\s+and\s+(?=(?:[^']*'[^']*')*[^']*$)", rest) if rest else []
    for part in parts:
        part = part.strip()
        while part.startswith("(") and part.endswith(")"):
            part = part[1:-1].strip()
        match = _CONDITION.fullmatch(part)
        if match is None:
            raise bad_request(
                f"The $filter {text!r} is not supported by the emulator: it understands "
                "'field op literal' conditions joined by 'and' (op: eq ne gt ge lt le)."
            )
        name = match["field"]
        if name not in fields:
            raise bad_request(f"Could not find a property named '{name}' on type 'Microsoft.NAV.{type_name}'.")
        conditions.append(Condition(name, match["op"], _literal(match["value"])))
    return conditions


def parse_orderby(text: str, fields: dict[str, Any], type_name: str) -> list[tuple[str, bool]]:
    """(field, descending) pairs of `$orderby`."""
    order: list[tuple[str, bool]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        words = part.split()
        if words[0] not in fields or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise bad_request(f"Invalid $orderby {part!r} for type 'Microsoft.NAV.{type_name}'.")
        order.append((words[0], len(words) == 2 and words[1] == "desc"))
    return order


def sort_key(record: dict[str, Any], order: list[tuple[str, bool]]) -> list[Any]:
    """A JSON-able key ordering records by `order`, then by id (the tie-breaker)."""
    key: list[Any] = []
    for name, _desc in order:
        value = record.get(name)
        key.append("" if value is None else value)
    key.append(record.get("id", ""))
    return key


def encode_skiptoken(key: list[Any], page_size: int) -> str:
    """An opaque continuation token: where the last page ended and its size."""
    raw = json.dumps({"k": key, "n": page_size}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skiptoken(token: str) -> tuple[list[Any], int]:
    """The key and page size inside a skiptoken; 400 when it was not made here."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return list(data["k"]), int(data["n"])
    except (ValueError, KeyError, TypeError):
        raise bad_request(f"The skip token {token!r} is not valid.", "BadRequest_InvalidToken") from None


def parse_prefer_page_size(header: str | None) -> int | None:
    """`odata.maxpagesize=N` from a Prefer header, if present."""
    if not header:
        return None
    for preference in header.split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize":
            try:
                size = int(value.strip())
            except ValueError:
                raise bad_request(f"Invalid Prefer odata.maxpagesize value {value!r}.") from None
            if size < 1:
                raise bad_request(f"Invalid Prefer odata.maxpagesize value {value!r}.")
            return size
    return None


def compare_keys(a: list[Any], b: list[Any], order: list[tuple[str, bool]]) -> int:
    """-1, 0 or 1 comparing two sort keys under `order` (id ascending last)."""
    directions = [desc for _name, desc in order] + [False]
    for left, right, desc in zip(a, b, directions, strict=False):
        if left == right:
            continue
        try:
            less = left < right
        except TypeError:
            less = str(left) < str(right)
        result = -1 if less else 1
        return -result if desc else result
    return 0
