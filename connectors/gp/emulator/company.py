"""The emulator's data model: a GP company database, and GP's way of saying no (`GpFault`).

The error codes are the emulator's own [U: the real SBA codes are unknown]; the body they go
out in is `paths.error_body`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# GP error codes used by the emulator [U: real SBA codes unknown].
E_NOT_AUTHENTICATED = 1401
E_NO_COMPANY_ACCESS = 1403
E_COMPANY_NOT_FOUND = 1404
E_RECORD_NOT_FOUND = 2001
E_DUPLICATE_KEY = 2002
E_INVALID_FIELD = 2003
E_VENDOR_NOT_FOUND = 2101
E_ITEM_NOT_FOUND = 2102
E_DOCUMENT_NOT_WORK = 3001
E_DOCUMENT_CLOSED = 3002
E_PO_NOT_FOUND = 3003
E_PO_LINE_NOT_FOUND = 3004
E_DUPLICATE_VENDOR_DOCUMENT = 3005
E_TOO_MANY_LINES = 3006
E_PERIOD_CLOSED = 4150
E_PERIOD_MISSING = 4151
E_BAD_QUERY = 5001
E_BAD_BODY = 5002
E_METHOD = 5003


class GpFault(Exception):
    """A refusal in GP's terms: HTTP status, GP error code and GP's message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Company:
    """One GP company database: records per entity name, keyed by upper-cased key."""

    company_id: str
    name: str
    info: dict[str, Any]
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def table(self, entity: str) -> dict[str, dict[str, Any]]:
        """The records of `entity` (created empty on first use)."""
        return self.records.setdefault(entity, {})
