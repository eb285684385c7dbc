"""Jobs: one row per (route, document key), claimed by workers and moved through their states.

Claiming is safe under concurrency on both backends:
- PostgreSQL: the candidates are selected `FOR UPDATE SKIP LOCKED` in a CTE and updated in the
  same statement, so workers on several machines take disjoint jobs without waiting for each
  other.
- SQLite: the same statement runs in a `BEGIN IMMEDIATE` transaction, which holds the database's
  one write lock; claims are serialised (by design SQLite serves one process).

A worker that dies leaves its jobs `running`; `release_stale` puts every running job whose last
sign of life (`heartbeat_at`, set on claim and by `heartbeat`) is older than a cutoff back to
`pending`. State changes that belong to a worker (`complete`, `retry`, `dead_letter`) can name
it: the change then only happens while that worker still holds the job.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, Update, bindparam, func, or_, select, union, update
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate

from engine.errors import StoreError
from engine.store.database import dialect_insert
from engine.store.models import UtcDateTime, artifacts, audit_events, inbound_files, jobs, outbound_groups
from engine.store.records import Enqueued, Job, JobState, parse_state

CLAIMABLE = (JobState.PENDING, JobState.FAILED)
_NOW = bindparam("now", type_=UtcDateTime())
_GET = select(jobs).where(jobs.c.id == bindparam("job_id"))
_BY_KEY = select(jobs).where(jobs.c.route == bindparam("route_"), jobs.c.key == bindparam("key_"))
_HEARTBEAT = (
    update(jobs)
    .where(
        jobs.c.id == bindparam("job_id"),
        jobs.c.state == JobState.RUNNING.value,
        jobs.c.claimed_by == bindparam("worker"),
    )
    .values(heartbeat_at=_NOW)
    .returning(jobs.c.id)
)
_HEARTBEAT_ALL = (
    update(jobs)
    .where(jobs.c.state == JobState.RUNNING.value, jobs.c.claimed_by == bindparam("worker"))
    .values(heartbeat_at=_NOW)
    .returning(jobs.c.id)
)
_CLAIM_ONE = (
    update(jobs)
    .where(
        jobs.c.id == bindparam("job_id"),
        jobs.c.state.in_([state.value for state in CLAIMABLE]),
        jobs.c.not_before <= _NOW,
    )
    .values(
        state=JobState.RUNNING.value,
        attempts=jobs.c.attempts + 1,
        claimed_by=bindparam("worker"),
        claimed_at=_NOW,
        heartbeat_at=_NOW,
        updated_at=_NOW,
    )
    .returning(*jobs.c)
)
_RELEASE_STALE = (
    update(jobs)
    .where(jobs.c.state == JobState.RUNNING.value, jobs.c.heartbeat_at < bindparam("cutoff", type_=UtcDateTime()))
    .values(state=JobState.PENDING.value, claimed_by=None, claimed_at=None, heartbeat_at=None, updated_at=_NOW)
    .returning(jobs.c.id)
)


def enqueue(
    connection: Connection,
    route: str,
    key: str,
    *,
    kind: str,
    partner: str | None,
    payload: dict[str, Any] | None,
    source_ref: str | None,
    not_before: datetime | None,
    now: datetime,
) -> Enqueued:
    """Insert the job unless (route, key) exists; either way return the stored job."""
    values = {
        "route": route,
        "key": key,
        "kind": kind,
        "partner": partner,
        "state": JobState.PENDING.value,
        "attempts": 0,
        "payload": payload,
        "source_ref": source_ref,
        "not_before": not_before or now,
        "created_at": now,
        "updated_at": now,
    }
    row = connection.execute(_enqueue_statement(connection.dialect.name), values).one_or_none()
    if row is not None:
        return Enqueued(_job(row), True)
    return Enqueued(_job(connection.execute(_BY_KEY, {"route_": route, "key_": key}).one()), False)


def claim(
    connection: Connection,
    worker_id: str,
    *,
    limit: int,
    routes: Iterable[str] | None,
    now: datetime,
) -> list[Job]:
    """Take up to `limit` due jobs (oldest first) for `worker_id`: running, attempts + 1."""
    wanted = None if routes is None else list(routes)
    if limit < 1 or wanted == []:
        return []
    statement = _claim_statement(connection.dialect.name, wanted is not None)
    params: dict[str, Any] = {"worker": worker_id, "now": now, "limit": limit}
    if wanted is not None:
        params["routes"] = wanted
    return sorted((_job(row) for row in connection.execute(statement, params)), key=lambda job: job.id)


def claim_one(connection: Connection, job_id: int, worker_id: str, *, now: datetime) -> Job | None:
    """Take the job `job_id` for `worker_id` if it is due (pending, or failed and past its
    backoff): running, attempts + 1; None when it is not claimable now (running elsewhere,
    finished, or waiting for its retry)."""
    row = connection.execute(_CLAIM_ONE, {"job_id": job_id, "worker": worker_id, "now": now}).one_or_none()
    return None if row is None else _job(row)


def children(connection: Connection, prefix: str) -> list[Job]:
    """The jobs whose key starts with `prefix` (a file job's transactions), oldest first."""
    query = select(jobs).where(func.substr(jobs.c.key, 1, len(prefix)) == prefix).order_by(jobs.c.id)
    return [_job(row) for row in connection.execute(query)]


def defer(
    connection: Connection, job_id: int, *, reason: str, not_before: datetime, worker_id: str | None, now: datetime
) -> Job:
    """Put a running job back to wait until `not_before` without spending an attempt (a file
    job waiting for its transactions: waiting is not failing)."""
    return _transition(connection, job_id, _DEFER, {"last_error": reason, "not_before": not_before}, worker_id, now)


def heartbeat(connection: Connection, job_id: int, worker_id: str, *, now: datetime) -> bool:
    """Record that `worker_id` still works on the job; False when it no longer holds it."""
    params = {"job_id": job_id, "worker": worker_id, "now": now}
    return connection.execute(_HEARTBEAT, params).first() is not None


def heartbeat_all(connection: Connection, worker_id: str, *, now: datetime) -> int:
    """Record that `worker_id` still works on every job it holds; how many it holds."""
    return len(connection.execute(_HEARTBEAT_ALL, {"worker": worker_id, "now": now}).all())


def release_stale(connection: Connection, *, older_than: datetime, now: datetime) -> int:
    """Put running jobs with no sign of life since `older_than` back to pending; how many."""
    return len(connection.execute(_RELEASE_STALE, {"cutoff": older_than, "now": now}).all())


def complete(
    connection: Connection, job_id: int, *, result: dict[str, Any] | None, worker_id: str | None, now: datetime
) -> Job:
    """Mark a running job done, with its result."""
    return _transition(connection, job_id, _COMPLETE, {"result": result}, worker_id, now)


def retry(
    connection: Connection, job_id: int, *, error: str, not_before: datetime, worker_id: str | None, now: datetime
) -> Job:
    """Mark a running job failed with `error`, claimable again from `not_before`."""
    return _transition(connection, job_id, _RETRY, {"last_error": error, "not_before": not_before}, worker_id, now)


def dead_letter(connection: Connection, job_id: int, *, error: str, worker_id: str | None, now: datetime) -> Job:
    """Give up on a running job: dead, with the reason."""
    return _transition(connection, job_id, _DEAD_LETTER, {"last_error": error}, worker_id, now)


def review(
    connection: Connection, job_id: int, *, result: dict[str, Any] | None, reason: str, worker_id: str | None, now: datetime
) -> Job:
    """Park a running job for a person: it did what it could (its result), the rest waits in
    the review state with `reason`; never claimed again until `requeue`."""
    return _transition(connection, job_id, _REVIEW, {"result": result, "last_error": reason}, worker_id, now)


def skip(connection: Connection, job_id: int, reason: str, *, now: datetime) -> Job:
    """Mark a job that has nothing to do as skipped; the reason is kept in `last_error`."""
    return _transition(connection, job_id, _SKIP, {"last_error": reason}, None, now)


def requeue(connection: Connection, job_id: int, *, now: datetime) -> Job:
    """Make a finished job (done, dead, skipped, failed or in review) pending again, due now, with its
    attempts reset: `mlc replay` re-runs it from its stored input."""
    return _transition(connection, job_id, _REQUEUE, {"not_before": now}, None, now)


def get(connection: Connection, job_id: int) -> Job:
    """The job with this id; `StoreError` when there is none."""
    row = connection.execute(_GET, {"job_id": job_id}).one_or_none()
    if row is None:
        raise StoreError(f"job {job_id} does not exist")
    return _job(row)


def list_jobs(connection: Connection, *, state: JobState | str | None, route: str | None, limit: int) -> list[Job]:
    """The newest `limit` jobs, newest first, optionally of one state and one route."""
    query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(jobs.c.state == parse_state(JobState, state).value)
    if route is not None:
        query = query.where(jobs.c.route == route)
    return [_job(row) for row in connection.execute(query)]


def count_jobs(connection: Connection, *, route: str | None) -> dict[JobState, int]:
    """How many jobs are in each state (every state present, zero when none)."""
    query = select(jobs.c.state, func.count()).group_by(jobs.c.state)
    if route is not None:
        query = query.where(jobs.c.route == route)
    counts = dict.fromkeys(JobState, 0)
    for state, count in connection.execute(query):
        counts[JobState(state)] = count
    return counts


def matching_job_ids(text: str) -> Select[tuple[int]]:
    """Ids of the jobs `text` refers to: a job id, a document key, a source reference, the
    name of one of its artifacts, an outbound file name, an inbound file id, or the key of
    one of its audit events (the PO number of an inbound 850, the ERP document it created)."""
    conditions = [jobs.c.key == text, jobs.c.source_ref == text]
    if text.strip().isdigit():
        conditions.append(jobs.c.id == int(text.strip()))
    return select(
        union(
            select(jobs.c.id.label("id")).where(or_(*conditions)),
            select(artifacts.c.job_id).where(artifacts.c.name == text),
            select(outbound_groups.c.job_id).where(outbound_groups.c.filename == text),
            select(inbound_files.c.job_id).where(inbound_files.c.file_id == text),
            # a business number an event was keyed by (an inbound PO number, a created ERP document)
            select(audit_events.c.job_id).where(audit_events.c.key == text, audit_events.c.job_id.is_not(None)),
        )
        .subquery()
        .c.id
    )


def find_jobs(connection: Connection, text: str) -> list[Job]:
    """Every job `text` refers to (see `matching_job_ids`), oldest first."""
    query = select(jobs).where(jobs.c.id.in_(matching_job_ids(text))).order_by(jobs.c.id)
    return [_job(row) for row in connection.execute(query)]


class _Change:
    """A state change: its verb (for messages), the states it starts from, the values it sets
    whatever the call, and the columns each call gives a value for."""

    def __init__(
        self, verb: str, allowed: tuple[JobState, ...], fixed: Mapping[str, Any], variable: tuple[str, ...]
    ) -> None:
        self.verb = verb
        self.allowed = allowed
        values = {**fixed, **{name: bindparam(f"new_{name}", type_=jobs.c[name].type) for name in variable}}
        base = (
            update(jobs)
            .where(jobs.c.id == bindparam("job_id"), jobs.c.state.in_([state.value for state in allowed]))
            .values({**values, "updated_at": _NOW})
        )
        self.any_worker = base.returning(*jobs.c)
        self.held = base.where(jobs.c.claimed_by == bindparam("worker")).returning(*jobs.c)


_COMPLETE = _Change("complete", (JobState.RUNNING,), {"state": JobState.DONE.value}, ("result",))
_RETRY = _Change(
    "retry", (JobState.RUNNING,), {"state": JobState.FAILED.value, "claimed_by": None}, ("last_error", "not_before")
)
_DEAD_LETTER = _Change(
    "dead-letter", (JobState.RUNNING,), {"state": JobState.DEAD.value, "claimed_by": None}, ("last_error",)
)
_REVIEW = _Change(
    "review", (JobState.RUNNING,), {"state": JobState.REVIEW.value, "claimed_by": None}, ("result", "last_error")
)
_SKIP = _Change(
    "skip",
    (JobState.PENDING, JobState.FAILED, JobState.RUNNING),
    {"state": JobState.SKIPPED.value, "claimed_by": None},
    ("last_error",),
)
_DEFER = _Change(
    "defer",
    (JobState.RUNNING,),
    {"state": JobState.PENDING.value, "claimed_by": None, "attempts": jobs.c.attempts - 1},
    ("last_error", "not_before"),
)
_REQUEUE = _Change(
    "requeue",
    (JobState.DONE, JobState.DEAD, JobState.SKIPPED, JobState.FAILED, JobState.REVIEW),
    {"state": JobState.PENDING.value, "attempts": 0, "claimed_by": None},
    ("not_before",),
)


def _transition(
    connection: Connection,
    job_id: int,
    change: _Change,
    values: Mapping[str, Any],
    worker_id: str | None,
    now: datetime,
) -> Job:
    params = {"job_id": job_id, "now": now, **{f"new_{name}": value for name, value in values.items()}}
    if worker_id is None:
        statement: ReturningUpdate[Any] = change.any_worker
    else:
        statement = change.held
        params["worker"] = worker_id
    row = connection.execute(statement, params).one_or_none()
    if row is not None:
        return _job(row)
    current = get(connection, job_id)
    if current.state in change.allowed:
        raise StoreError(f"cannot {change.verb} job {job_id}: it is held by {current.claimed_by!r}, not {worker_id!r}")
    expected = " or ".join(state.value for state in change.allowed)
    raise StoreError(f"cannot {change.verb} job {job_id}: it is {current.state.value}, not {expected}")


@functools.cache
def _enqueue_statement(dialect: str) -> ReturningInsert[Any]:
    return (
        dialect_insert(dialect, jobs)
        .on_conflict_do_nothing(index_elements=[jobs.c.route, jobs.c.key])
        .returning(*jobs.c)
    )


@functools.cache
def _claim_statement(dialect: str, by_route: bool) -> ReturningUpdate[Any]:
    candidates = (
        select(jobs.c.id)
        .where(jobs.c.state.in_([state.value for state in CLAIMABLE]), jobs.c.not_before <= _NOW)
        .order_by(jobs.c.id)
        .limit(bindparam("limit"))
    )
    if by_route:
        candidates = candidates.where(jobs.c.route.in_(bindparam("routes", expanding=True)))
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimable = candidates.cte("claimable")
    statement: Update = update(jobs).where(jobs.c.id.in_(select(claimable.c.id)))
    return statement.values(
        state=JobState.RUNNING.value,
        attempts=jobs.c.attempts + 1,
        claimed_by=bindparam("worker"),
        claimed_at=_NOW,
        heartbeat_at=_NOW,
        updated_at=_NOW,
    ).returning(*jobs.c)


def _job(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        route=row.route,
        key=row.key,
        kind=row.kind,
        partner=row.partner,
        state=JobState(row.state),
        attempts=row.attempts,
        last_error=row.last_error,
        payload=row.payload,
        result=row.result,
        source_ref=row.source_ref,
        not_before=row.not_before,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        heartbeat_at=row.heartbeat_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
