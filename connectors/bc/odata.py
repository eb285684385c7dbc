"""OData names and literals of the Business Central API v2.0, shared by the connector and its
webhook subscriptions (which import this module, not the connector: no import cycle).

    DOCUMENT_LINES   document entity sets and the navigation property of their lines
    ENTITY_SETS      the company-scoped entity sets the connector reads and writes
    odata_datetime / odata_string / odata_literal   filter literals
    query            a query string BC reads as written (spaces as %20, OData punctuation kept)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

__all__ = [
    "DOCUMENT_LINES",
    "ENTITY_SETS",
    "LINE_SETS",
    "MASTER_SETS",
    "odata_datetime",
    "odata_literal",
    "odata_string",
    "query",
]

DOCUMENT_LINES = {
    "salesInvoices": "salesInvoiceLines",
    "salesOrders": "salesOrderLines",
    "purchaseOrders": "purchaseOrderLines",
}
"""Document entity sets and the navigation property holding their lines."""

MASTER_SETS = ("customers", "items", "vendors")
LINE_SETS = {lines: header for header, lines in DOCUMENT_LINES.items()}
ENTITY_SETS = (*DOCUMENT_LINES, *MASTER_SETS)
"""The company-scoped entity sets this connector reads and writes."""

_QUERY_SAFE = "$,()':*/"


def odata_datetime(moment: datetime) -> str:
    """An unquoted OData UTC literal with milliseconds (`2024-05-02T14:03:11.217Z`).

    Naive datetimes are taken as UTC. Truncating to milliseconds errs on the side of
    including a record modified within the same millisecond again.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def odata_string(value: str) -> str:
    """A quoted OData string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def odata_literal(value: Any) -> str:
    """A filter literal: quoted text, bare numbers and booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return odata_string(str(value))


def query(params: dict[str, str]) -> str:
    """A query string with spaces as %20 (never '+') and OData punctuation left readable."""
    return "&".join(f"{key}={quote(value, safe=_QUERY_SAFE)}" for key, value in params.items() if value)
