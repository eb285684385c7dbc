"""What came in: the inbound file ledger and the interchange ledger.

- Inbound files are known by file id and SHA-256 of their content (a file re-delivered under the
  same id with other content is a new file). Recording is idempotent and race-safe: the unique
  (file_id, sha256) constraint decides, `ON CONFLICT DO NOTHING` reports who won.
- Interchanges are known by sender (ISA05 qualifier, ISA06 id) and ISA13: partners resend, and a
  resent interchange must be flagged, not processed again. The sender fields are compared with
  their padding stripped, the control number as a number ("000000042" is 42).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, Text, bindparam, func, select, update
from sqlalchemy.sql.dml import ReturningInsert

from engine.errors import StoreError
from engine.store.database import dialect_insert
from engine.store.models import UtcDateTime, inbound_files, interchanges
from engine.store.records import LedgerEntry, LedgerState, parse_state

if TYPE_CHECKING:
    from engine.store.transaction import Transaction


def ledger_seen(tx: Transaction, file_id: str, sha256: str) -> LedgerEntry | None:
    """The ledger entry of this file content, or None."""
    row = tx.connection.execute(_FILE, {"file_id_": file_id, "sha256_": sha256.lower()}).one_or_none()
    return None if row is None else _entry(row)


def ledger_for_file(tx: Transaction, file_id: str) -> list[LedgerEntry]:
    """Every ledger entry of this file id, whatever its content (a file already taken), oldest
    first."""
    rows = tx.connection.execute(_FILE_ANY, {"file_id_": file_id}).all()
    return [_entry(row) for row in rows]


def ledger_record(
    tx: Transaction,
    file_id: str,
    sha256: str,
    *,
    partner: str | None = None,
    route: str | None = None,
    state: LedgerState | str = LedgerState.RECEIVED,
    job_id: int | None = None,
) -> tuple[LedgerEntry, bool]:
    """Record an inbound file unless known: `(entry, created)`; race-safe."""
    now = tx.now()
    values = {
        "file_id": file_id,
        "sha256": sha256.lower(),
        "partner": partner,
        "route": route,
        "state": parse_state(LedgerState, state).value,
        "job_id": job_id,
        "received_at": now,
        "updated_at": now,
    }
    row = tx.connection.execute(_record_file_statement(tx.connection.dialect.name), values).one_or_none()
    if row is not None:
        return _entry(row), True
    existing = ledger_seen(tx, file_id, sha256)
    assert existing is not None  # the conflicting row is committed, or we would still be waiting on it
    return existing, False


def ledger_update(
    tx: Transaction,
    file_id: str,
    sha256: str,
    *,
    state: LedgerState | str,
    job_id: int | None = None,
    error: str | None = None,
) -> LedgerEntry:
    """Move a recorded inbound file to `state` (setting its job and error when given)."""
    params = {
        "file_id_": file_id,
        "sha256_": sha256.lower(),
        "new_state": parse_state(LedgerState, state).value,
        "new_job_id": job_id,
        "new_error": error,
        "now": tx.now(),
    }
    row = tx.connection.execute(_UPDATE_FILE, params).one_or_none()
    if row is None:
        raise StoreError(f"inbound file {file_id!r} with SHA-256 {sha256} is not in the ledger")
    return _entry(row)


def interchange_seen(tx: Transaction, sender_qualifier: str, sender_id: str, control_number: int | str) -> bool:
    """Whether this sender's interchange with this ISA13 was processed before."""
    params = {"qualifier": sender_qualifier.strip(), "sender": sender_id.strip(), "number": _control(control_number)}
    return tx.connection.execute(_INTERCHANGE, params).first() is not None


def interchange_record(
    tx: Transaction,
    sender_qualifier: str,
    sender_id: str,
    control_number: int | str,
    *,
    file_id: str | None = None,
    job_id: int | None = None,
) -> bool:
    """Record an interchange; False when anyone recorded it before (a duplicate)."""
    values = {
        "sender_qualifier": sender_qualifier.strip(),
        "sender_id": sender_id.strip(),
        "control_number": _control(control_number),
        "file_id": file_id,
        "job_id": job_id,
        "received_at": tx.now(),
    }
    statement = _record_interchange_statement(tx.connection.dialect.name)
    return tx.connection.execute(statement, values).first() is not None


_FILE = select(inbound_files).where(
    inbound_files.c.file_id == bindparam("file_id_"), inbound_files.c.sha256 == bindparam("sha256_")
)
_FILE_ANY = select(inbound_files).where(inbound_files.c.file_id == bindparam("file_id_")).order_by(inbound_files.c.id)
_UPDATE_FILE = (
    update(inbound_files)
    .where(inbound_files.c.file_id == bindparam("file_id_"), inbound_files.c.sha256 == bindparam("sha256_"))
    .values(
        state=bindparam("new_state"),
        job_id=func.coalesce(bindparam("new_job_id", type_=inbound_files.c.job_id.type), inbound_files.c.job_id),
        error=func.coalesce(bindparam("new_error", type_=Text()), inbound_files.c.error),
        updated_at=bindparam("now", type_=UtcDateTime()),
    )
    .returning(*inbound_files.c)
)
_INTERCHANGE = select(interchanges.c.id).where(
    interchanges.c.sender_qualifier == bindparam("qualifier"),
    interchanges.c.sender_id == bindparam("sender"),
    interchanges.c.control_number == bindparam("number"),
)


@functools.cache
def _record_file_statement(dialect: str) -> ReturningInsert[Any]:
    insert = dialect_insert(dialect, inbound_files)
    return insert.on_conflict_do_nothing(index_elements=[inbound_files.c.file_id, inbound_files.c.sha256]).returning(
        *inbound_files.c
    )


@functools.cache
def _record_interchange_statement(dialect: str) -> ReturningInsert[Any]:
    insert = dialect_insert(dialect, interchanges)
    return insert.on_conflict_do_nothing(
        index_elements=[interchanges.c.sender_qualifier, interchanges.c.sender_id, interchanges.c.control_number]
    ).returning(interchanges.c.id)


def _control(value: int | str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise StoreError(f"interchange control number {value!r} is not a number (ISA13 is nine digits)") from None
    if not 0 <= number <= 999_999_999:
        raise StoreError(f"interchange control number {value!r} is out of range (ISA13 is nine digits)")
    return number


def _entry(row: Row[Any]) -> LedgerEntry:
    return LedgerEntry(
        file_id=row.file_id,
        sha256=row.sha256,
        partner=row.partner,
        route=row.route,
        state=LedgerState(row.state),
        job_id=row.job_id,
        error=row.error,
        received_at=row.received_at,
        updated_at=row.updated_at,
    )
