"""What the console's pages read from the state store: bounded queries, each through an index.

Every query here is written for a store of 100,000 jobs and 1,000,000 audit events (see
benchmarks/console.py): lists are keyset-paged on the job id (`before`), counts stop at
`COUNT_CAP`, a document's events and artifacts are read by job id, and artifact bodies are read
one at a time, only when shown. Filters are parsed by `parse_filter`, which refuses what it
cannot use with a `BadInput` naming the parameter (the page answers 400).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select, union, union_all

from engine.errors import MlcError
from engine.store.jobs import matching_job_ids
from engine.store.models import (
    artifacts,
    audit_events,
    control_numbers,
    interchanges,
    job_references,
    jobs,
    outbound_groups,
)

__all__ = [
    "COUNT_CAP",
    "MAX_QUERY_CHARS",
    "PAGE_SIZE",
    "ArtifactRow",
    "BadInput",
    "JobFilter",
    "JobPage",
    "JobRow",
    "parse_filter",
]

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
COUNT_CAP = 10_000
MAX_QUERY_CHARS = 120
MAX_EVENTS = 1000


class BadInput(MlcError):
    """A console request the console cannot answer as asked (answered 400 with the message)."""


@dataclass(frozen=True)
class JobFilter:
    """The Jobs page's filters (all optional) and its page."""

    state: str | None = None
    route: str | None = None
    partner: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    before: int | None = None
    size: int = PAGE_SIZE

    def params(self, **changes: Any) -> dict[str, str]:
        """The query parameters that give this filter (with `changes`), for links."""
        values = {
            "state": self.state,
            "route": self.route,
            "partner": self.partner,
            "from": self.since.date().isoformat() if self.since else None,
            "to": (self.until - timedelta(days=1)).date().isoformat() if self.until else None,
            "q": self.q,
            "before": str(self.before) if self.before else None,
            "size": str(self.size) if self.size != PAGE_SIZE else None,
        }
        values.update(changes)
        return {name: value for name, value in values.items() if value}


def _choice(params: Mapping[str, str], name: str, valid: Iterable[str]) -> str | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    allowed = sorted(valid)
    if value not in allowed:
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise BadInput(f"unknown {name} {shown!r}; expected one of {', '.join(allowed) or '(none)'}")
    return value


def _day(params: Mapping[str, str], name: str) -> date | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{name} {value[:40]!r} is not a date; expected YYYY-MM-DD") from None


def _positive(params: Mapping[str, str], name: str, default: int | None, ceiling: int) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= ceiling:
        raise BadInput(f"{name} {value[:40]!r} is not a whole number from 1 to {ceiling}")
    return int(value)


def parse_filter(params: Mapping[str, str], *, states: Iterable[str], routes: Iterable[str], partners: Iterable[str]) -> JobFilter:
    """The filter the query parameters ask for; `BadInput` naming what is wrong."""
    unknown = sorted(set(params) - {"state", "route", "partner", "from", "to", "q", "before", "size"})
    if unknown:
        raise BadInput(f"unknown parameter {unknown[0][:40]!r}; the job list takes state, route, partner, from, to, q, before and size")
    q = (params.get("q") or "").strip() or None
    if q is not None and len(q) > MAX_QUERY_CHARS:
        raise BadInput(f"the search has {len(q)} characters; at most {MAX_QUERY_CHARS} (a document number, file name, ISA13 or job id)")
    start, end = _day(params, "from"), _day(params, "to")
    if start and end and end < start:
        raise BadInput(f"the date range ends ({end}) before it starts ({start})")
    return JobFilter(
        state=_choice(params, "state", states),
        route=_choice(params, "route", routes),
        partner=_choice(params, "partner", partners),
        since=datetime(start.year, start.month, start.day, tzinfo=UTC) if start else None,
        until=datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1) if end else None,
        q=q,
        before=_positive(params, "before", None, 2**62),
        size=_positive(params, "size", PAGE_SIZE, MAX_PAGE_SIZE) or PAGE_SIZE,
    )


@dataclass(frozen=True)
class JobRow:
    """A job as the lists show it (no payload or result)."""

    id: int
    route: str
    key: str
    kind: str
    partner: str | None
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class JobPage:
    """One page of the job list, newest first."""

    rows: list[JobRow]
    total: int
    total_capped: bool
    next_before: int | None


_ROW_COLUMNS = (
    jobs.c.id, jobs.c.route, jobs.c.key, jobs.c.kind, jobs.c.partner, jobs.c.state, jobs.c.attempts,
    func.substr(jobs.c.last_error, 1, 300).label("last_error"), jobs.c.created_at, jobs.c.updated_at,
)


def _row(row: Any) -> JobRow:
    return JobRow(row.id, row.route, row.key, row.kind, row.partner, row.state, row.attempts, row.last_error, row.created_at, row.updated_at)


def search_ids(text: str) -> Select[tuple[int]]:
    """Ids of the jobs a business number names: what `mlc audit` finds (job id, key, source
    reference, file names), plus the numbers read from the documents (`job_references`) and
    ISA13 control numbers of files received and sent."""
    text = text.strip()
    parts: list[Select[Any]] = [
        select(matching_job_ids(text).label("id")),
        select(job_references.c.job_id).where(job_references.c.value == text),
    ]
    if text.isdigit() and len(text) <= 18:
        number = int(text)
        parts.append(select(interchanges.c.job_id).where(interchanges.c.control_number == number))
        parts.append(select(outbound_groups.c.job_id).where(outbound_groups.c.interchange_control == number))
    return select(union(*parts).subquery().c.id)


def list_jobs(connection: Connection, wanted: JobFilter) -> JobPage:
    """The page of jobs `wanted` asks for, newest first, with the (capped) number matching."""
    conditions = []
    if wanted.state:
        conditions.append(jobs.c.state == wanted.state)
    if wanted.route:
        conditions.append(jobs.c.route == wanted.route)
    if wanted.partner:
        conditions.append(jobs.c.partner == wanted.partner)
    if wanted.since:
        conditions.append(jobs.c.created_at >= wanted.since)
    if wanted.until:
        conditions.append(jobs.c.created_at < wanted.until)
    if wanted.q:
        conditions.append(jobs.c.id.in_(search_ids(wanted.q)))
    where = and_(True, *conditions)
    query = select(*_ROW_COLUMNS).where(where)
    if wanted.before:
        query = query.where(jobs.c.id < wanted.before)
    rows = [_row(row) for row in connection.execute(query.order_by(jobs.c.id.desc()).limit(wanted.size + 1))]
    more = len(rows) > wanted.size
    rows = rows[: wanted.size]
    capped = select(jobs.c.id).where(where).limit(COUNT_CAP + 1).subquery()
    total = connection.execute(select(func.count()).select_from(capped)).scalar_one()
    return JobPage(rows, min(total, COUNT_CAP), total > COUNT_CAP, rows[-1].id if more and rows else None)


# -- the overview ---------------------------------------------------------------------------


@dataclass
class RouteStatus:
    """One route on the overview."""

    name: str
    last_poll: dict[str, Any] | None = None
    last_failure: dict[str, Any] | None = None
    states: dict[str, int] = field(default_factory=dict)


def _last_events(connection: Connection, routes: list[str], events: tuple[str, ...]) -> dict[tuple[str, str], dict[str, Any]]:
    """The newest event of each kind for each route, in one statement: an index seek per pair
    on (route, event, id), one round trip to the database."""
    if not routes:
        return {}
    parts = []
    for route in routes:
        for event in events:
            newest = (
                select(audit_events.c.route, audit_events.c.event, audit_events.c.at, audit_events.c.status, audit_events.c.detail)
                .where(audit_events.c.route == route, audit_events.c.event == event)
                .order_by(audit_events.c.id.desc())
                .limit(1)
                .subquery()
            )
            parts.append(select(newest))
    found = {}
    for row in connection.execute(union_all(*parts)):
        found[(row.route, row.event)] = {"at": _aware(row.at), "status": row.status, "detail": _json(row.detail)}
    return found


def route_statuses(connection: Connection, routes: Iterable[str]) -> list[RouteStatus]:
    """Each route's last poll and poll failure, and its jobs by state."""
    statuses = {name: RouteStatus(name) for name in sorted(routes)}
    for route, state, count in connection.execute(select(jobs.c.route, jobs.c.state, func.count()).group_by(jobs.c.route, jobs.c.state)):
        statuses.setdefault(route, RouteStatus(route)).states[state] = count
    last = _last_events(connection, list(statuses), ("poll", "poll-failed"))
    for status in statuses.values():
        status.last_poll = last.get((status.name, "poll"))
        status.last_failure = last.get((status.name, "poll-failed"))
    return list(statuses.values())


def _json(value: Any) -> dict[str, Any]:
    # Through a compound select the JSON type may be lost (SQLite hands back the text).
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def state_counts(statuses: Iterable[RouteStatus]) -> dict[str, int]:
    """Jobs by state over every route."""
    total: dict[str, int] = {}
    for status in statuses:
        for state, count in status.states.items():
            total[state] = total.get(state, 0) + count
    return total


def attention(connection: Connection, states: Iterable[str], limit: int = 25) -> list[JobRow]:
    """The newest jobs waiting for a person (dead, in review), newest first."""
    query = select(*_ROW_COLUMNS).where(jobs.c.state.in_(list(states))).order_by(jobs.c.id.desc()).limit(limit)
    return [_row(row) for row in connection.execute(query)]


@dataclass(frozen=True)
class Overdue:
    """A partner's outbound groups still without a 997 after the deadline."""

    partner: str
    groups: int
    oldest: datetime


def overdue_acks(connection: Connection, *, older_than: datetime) -> list[Overdue]:
    """Per partner: groups sent before `older_than` with no 997, and the oldest one's time."""
    query = (
        select(outbound_groups.c.partner, func.count(), func.min(outbound_groups.c.sent_at))
        .where(outbound_groups.c.ack_status.is_(None), outbound_groups.c.sent_at < older_than)
        .group_by(outbound_groups.c.partner)
        .order_by(outbound_groups.c.partner)
    )
    return [Overdue(partner, count, _aware(oldest)) for partner, count, oldest in connection.execute(query)]


def poll_failures(connection: Connection, *, since: datetime) -> dict[str, int]:
    """Poll failures per route since `since`."""
    query = (
        select(audit_events.c.route, func.count())
        .where(audit_events.c.event == "poll-failed", audit_events.c.at >= since)
        .group_by(audit_events.c.route)
    )
    return {str(route): count for route, count in connection.execute(query)}


def _aware(value: Any) -> datetime:
    # Aggregates bypass the column type: SQLite returns the stored text, naive UTC.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- a document -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ArtifactRow:
    """An artifact without its bytes."""

    id: int
    role: str
    name: str
    media_type: str
    size: int
    sha256: str
    created_at: datetime


def artifact_rows(connection: Connection, job_id: int) -> list[ArtifactRow]:
    """The job's artifacts, oldest first, without their content."""
    query = (
        select(artifacts.c.id, artifacts.c.role, artifacts.c.name, artifacts.c.media_type, artifacts.c.size, artifacts.c.sha256, artifacts.c.created_at)
        .where(artifacts.c.job_id == job_id)
        .order_by(artifacts.c.id)
    )
    return [ArtifactRow(*row) for row in connection.execute(query)]


def artifact_content(connection: Connection, job_id: int, artifact_id: int) -> tuple[ArtifactRow, bytes] | None:
    """One artifact of the job with its bytes, or None."""
    row = connection.execute(
        select(artifacts).where(artifacts.c.id == artifact_id, artifacts.c.job_id == job_id)
    ).one_or_none()
    if row is None:
        return None
    return ArtifactRow(row.id, row.role, row.name, row.media_type, row.size, row.sha256, row.created_at), bytes(row.content)


def events_of(connection: Connection, job_id: int, limit: int = MAX_EVENTS) -> tuple[list[Any], bool]:
    """The job's first `limit` audit events in order, and whether there are more."""
    query = select(audit_events).where(audit_events.c.job_id == job_id).order_by(audit_events.c.at, audit_events.c.id).limit(limit + 1)
    rows = list(connection.execute(query))
    return rows[:limit], len(rows) > limit


def groups_of(connection: Connection, job_id: int) -> list[Any]:
    """The outbound groups the job sent, with their 997 status."""
    return list(connection.execute(select(outbound_groups).where(outbound_groups.c.job_id == job_id).order_by(outbound_groups.c.id)))


def jobs_named(connection: Connection, text: str, limit: int = 5) -> list[JobRow]:
    """Jobs a file name or number names (the 997 file that acknowledged a group)."""
    query = select(*_ROW_COLUMNS).where(jobs.c.id.in_(matching_job_ids(text))).order_by(jobs.c.id.desc()).limit(limit)
    return [_row(row) for row in connection.execute(query)]


def interchanges_of(connection: Connection, job_id: int) -> list[Any]:
    """The interchanges received in an inbound file job."""
    return list(connection.execute(select(interchanges).where(interchanges.c.job_id == job_id).order_by(interchanges.c.id)))


# -- partners -------------------------------------------------------------------------------


def last_exchange(connection: Connection, partner: str) -> JobRow | None:
    """The partner's newest job."""
    row = connection.execute(select(*_ROW_COLUMNS).where(jobs.c.partner == partner).order_by(jobs.c.id.desc()).limit(1)).one_or_none()
    return None if row is None else _row(row)


def counters(connection: Connection) -> dict[str, dict[str, int]]:
    """Per partner, the next ISA13, GS06 and ST02 it will be given."""
    found: dict[str, dict[str, int]] = {}
    for partner, kind, value in connection.execute(select(control_numbers.c.partner, control_numbers.c.kind, control_numbers.c.next_value)):
        found.setdefault(partner, {})[kind] = value
    return found
