"""Audit events: every poll, fetch, render, validation, upload, ERP write, retry and failure.

Events are kept verbatim. The store never sees a secret in them because callers mask every
message and detail first (`engine.secrets.mask`); nothing here can tell a secret from text.
`trail` answers `mlc audit KEY`: every event of the jobs a document number, file name or job id
refers to, plus events that carry that key without a job (a duplicate interchange, a poll).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select

from engine.store.jobs import matching_job_ids
from engine.store.models import audit_events
from engine.store.records import AuditEvent


def record(
    connection: Connection,
    job_id: int | None,
    event: str,
    *,
    route: str | None,
    key: str | None,
    partner: str | None,
    status: int | None,
    duration_ms: float | None,
    detail: dict[str, Any] | None,
    at: datetime,
) -> int:
    """Store one event; its id."""
    values = {
        "job_id": job_id,
        "at": at,
        "event": event,
        "route": route,
        "key": key,
        "partner": partner,
        "status": status,
        "duration_ms": duration_ms,
        "detail": detail,
    }
    event_id: int = connection.execute(_RECORD, values).scalar_one()
    return event_id


_RECORD = insert(audit_events).returning(audit_events.c.id)


def trail(connection: Connection, text: str) -> list[AuditEvent]:
    """Every event about what `text` names, in the order they happened."""
    query = (
        select(audit_events)
        .where(or_(audit_events.c.job_id.in_(matching_job_ids(text)), audit_events.c.key == text))
        .order_by(audit_events.c.at, audit_events.c.id)
    )
    return [_event(row) for row in connection.execute(query)]


def for_job(connection: Connection, job_id: int) -> list[AuditEvent]:
    """The events of one job, in the order they happened."""
    query = select(audit_events).where(audit_events.c.job_id == job_id).order_by(audit_events.c.at, audit_events.c.id)
    return [_event(row) for row in connection.execute(query)]


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
