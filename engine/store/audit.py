"""Audit events: every poll, fetch, render, validation, upload, ERP write, retry and failure.

Events are kept verbatim, once every text of their detail has been masked with the store's
mask (`Store.mask_audit`: the project's secret values, set by `Runtime`); nothing else here can
tell a secret from text. `audit_trail` answers `mlc audit KEY`: every event of the jobs a
document number, file name or job id refers to, plus events that carry that key without a job
(a duplicate interchange, a poll).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from sqlalchemy import Row, insert, or_, select

from engine.errors import StoreError
from engine.store.jobs import matching_job_ids
from engine.store.models import audit_events
from engine.store.records import AuditEvent, AuditRow, json_object

if TYPE_CHECKING:
    from engine.store.transaction import Mask, Transaction


class AuditFields(TypedDict, total=False):
    """What an audit event records besides its job and its name (`audit`'s keyword arguments)."""

    route: str | None
    key: str | None
    partner: str | None
    status: int | None
    duration_ms: float | None
    detail: Mapping[str, Any] | None
    at: datetime | None


def audit(tx: Transaction, job_id: int | None, event: str, **fields: Unpack[AuditFields]) -> int:
    """Record an audit event; its id. Every text in `detail` (the message included, at any
    depth) is masked with the store's mask first (`Store.mask_audit`): this module is the one
    place audit rows are written, so no path can store a secret in one."""
    event_id: int = tx.connection.execute(_RECORD, _row(tx, job_id, event, fields)).scalar_one()
    return event_id


def audit_many(tx: Transaction, events: Sequence[AuditRow]) -> None:
    """Record several audit events in their order, masked as `audit` masks: one executemany of
    the INSERT (the outcomes of a batch of jobs and the events kept for them; psycopg sends it
    as one pipeline), not one statement per row. (A multi-row VALUES INSERT is compiled anew
    for every call: 20 rows cost 2.5-3 ms that way, 0.4-0.5 ms as an executemany.)"""
    rows = [_row(tx, job_id, event, fields) for job_id, event, fields in events]
    if rows:
        tx.connection.execute(_INSERT, rows)


_FIELDS = frozenset(AuditFields.__annotations__)


def _row(tx: Transaction, job_id: int | None, event: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - _FIELDS
    if unknown:
        raise StoreError(f"audit event {event!r}: no such field(s) {sorted(unknown)} (an audit event has {sorted(_FIELDS)})")
    detail = fields.get("detail")
    if tx.mask is not None and detail:
        detail = masked(detail, tx.mask)
    return {
        "job_id": job_id,
        "at": tx.now(fields.get("at")),
        "event": event,
        "route": fields.get("route"),
        "key": fields.get("key"),
        "partner": fields.get("partner"),
        "status": fields.get("status"),
        "duration_ms": fields.get("duration_ms"),
        "detail": json_object(detail, f"detail of audit event {event!r}"),
    }


_RECORD = insert(audit_events).returning(audit_events.c.id)
_INSERT = insert(audit_events)


def audit_trail(tx: Transaction, text: str) -> list[AuditEvent]:
    """Every event of the jobs `text` names (see `find_jobs`) or carrying it as key, in the
    order they happened."""
    query = (
        select(audit_events)
        .where(or_(audit_events.c.job_id.in_(matching_job_ids(text)), audit_events.c.key == text))
        .order_by(audit_events.c.at, audit_events.c.id)
    )
    return [_event(row) for row in tx.connection.execute(query)]


def job_events(tx: Transaction, job_id: int) -> list[AuditEvent]:
    """The audit events of one job, in order."""
    query = select(audit_events).where(audit_events.c.job_id == job_id).order_by(audit_events.c.at, audit_events.c.id)
    return [_event(row) for row in tx.connection.execute(query)]


def masked(value: Any, mask: Mask) -> Any:
    """`value` with `mask` applied to every text in it (keys kept, lists and dicts walked)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {key: masked(item, mask) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item, mask) for item in value]
    return value


def _event(row: Row[Any]) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        job_id=row.job_id,
        at=row.at,
        event=row.event,
        route=row.route,
        key=row.key,
        partner=row.partner,
        status=row.status,
        duration_ms=row.duration_ms,
        detail=row.detail,
    )
