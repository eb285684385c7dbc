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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, Select, Update, bindparam, func, or_, select, union, update
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate

from engine.errors import StoreError
from engine.store.cursors import advance_cursor
from engine.store.database import dialect_insert
from engine.store.models import UtcDateTime, artifacts, audit_events, inbound_files, outbound_groups
from engine.store.models import jobs as job_table
from engine.store.records import EnqueueBatch, Enqueued, Job, JobState, NewJob, json_object, parse_state, utc

if TYPE_CHECKING:
    from engine.store.transaction import Transaction

CLAIMABLE = (JobState.PENDING, JobState.FAILED)
_NOW = bindparam("now", type_=UtcDateTime())
_GET = select(job_table).where(job_table.c.id == bindparam("job_id"))
_BY_KEY = select(job_table).where(job_table.c.route == bindparam("route_"), job_table.c.key == bindparam("key_"))
_HEARTBEAT = (
    update(job_table)
    .where(
        job_table.c.id == bindparam("job_id"),
        job_table.c.state == JobState.RUNNING.value,
        job_table.c.claimed_by == bindparam("worker"),
    )
    .values(heartbeat_at=_NOW)
    .returning(job_table.c.id)
)
_HEARTBEAT_ALL = (
    update(job_table)
    .where(job_table.c.state == JobState.RUNNING.value, job_table.c.claimed_by == bindparam("worker"))
    .values(heartbeat_at=_NOW)
    .returning(job_table.c.id)
)
_DUE = (job_table.c.state.in_([state.value for state in CLAIMABLE]), job_table.c.not_before <= _NOW)
"""A job that may be claimed now: pending, or failed and past its backoff."""
_CLAIMED = {
    "state": JobState.RUNNING.value,
    "attempts": job_table.c.attempts + 1,
    "claimed_by": bindparam("worker"),
    "claimed_at": _NOW,
    "heartbeat_at": _NOW,
    "updated_at": _NOW,
}
"""What claiming sets (a batch by `claim`, one job by `claim_one`)."""
_CLAIM_ONE = update(job_table).where(job_table.c.id == bindparam("job_id"), *_DUE).values(_CLAIMED).returning(*job_table.c)
_RELEASE_STALE = (
    update(job_table)
    .where(job_table.c.state == JobState.RUNNING.value, job_table.c.heartbeat_at < bindparam("cutoff", type_=UtcDateTime()))
    .values(state=JobState.PENDING.value, claimed_by=None, claimed_at=None, heartbeat_at=None, updated_at=_NOW)
    .returning(job_table.c.id)
)


def enqueue(
    tx: Transaction,
    route: str,
    key: str,
    *,
    kind: str,
    partner: str | None = None,
    payload: Mapping[str, Any] | None = None,
    source_ref: str | None = None,
    not_before: datetime | None = None,
) -> Enqueued:
    """Enqueue a job unless (route, key) exists: `(job, created)`; a repeat changes nothing."""
    return _insert(tx.connection, route, key, kind, partner, payload, source_ref, not_before, tx.now())


def enqueue_many(tx: Transaction, route: str, new_jobs: Sequence[NewJob]) -> list[Enqueued]:
    """Enqueue every job of `new_jobs` on `route` (each a no-op if its key exists)."""
    now = tx.now()
    return [
        _insert(tx.connection, route, job.key, job.kind, job.partner, job.payload, job.source_ref, job.not_before, now)
        for job in new_jobs
    ]


def enqueue_many_and_advance(
    tx: Transaction, route: str, new_jobs: Sequence[NewJob], cursor_value: str, *, expected: str | None
) -> EnqueueBatch:
    """Move the route's cursor from `expected` to `cursor_value` and enqueue the jobs it
    covers, in this transaction. When the cursor is not at `expected`, nothing is written."""
    if not advance_cursor(tx, route, cursor_value, expected=expected):
        return EnqueueBatch(advanced=False)
    return EnqueueBatch(advanced=True, jobs=tuple(enqueue_many(tx, route, new_jobs)))


def claim(
    tx: Transaction, worker_id: str, *, limit: int = 1, routes: Iterable[str] | None = None, now: datetime | None = None
) -> list[Job]:
    """Claim up to `limit` due jobs, oldest first (PostgreSQL: SKIP LOCKED, no waiting): running,
    attempts + 1."""
    wanted = None if routes is None else list(routes)
    at = tx.now(now)
    if limit < 1 or wanted == []:
        return []
    statement = _claim_statement(tx.connection.dialect.name, wanted is not None)
    params: dict[str, Any] = {"worker": worker_id, "now": at, "limit": limit}
    if wanted is not None:
        params["routes"] = wanted
    return sorted((_job(row) for row in tx.connection.execute(statement, params)), key=lambda job: job.id)


def claim_one(tx: Transaction, job_id: int, worker_id: str, *, now: datetime | None = None) -> Job | None:
    """Claim the job `job_id` if it is due (pending, or failed and past its backoff): running,
    attempts + 1; None when it is not claimable now (running elsewhere, finished, or waiting
    for its retry)."""
    params = {"job_id": job_id, "worker": worker_id, "now": tx.now(now)}
    row = tx.connection.execute(_CLAIM_ONE, params).one_or_none()
    return None if row is None else _job(row)


def children(tx: Transaction, prefix: str) -> list[Job]:
    """The jobs whose key starts with `prefix` (a file job's transactions), oldest first."""
    query = select(job_table).where(func.substr(job_table.c.key, 1, len(prefix)) == prefix).order_by(job_table.c.id)
    return [_job(row) for row in tx.connection.execute(query)]


def defer(tx: Transaction, job_id: int, *, reason: str, not_before: datetime, worker_id: str | None = None) -> Job:
    """Put a running job back to pending until `not_before`, its attempt not counted (a file
    job waiting for its transactions: waiting is not failing)."""
    values = {"last_error": reason, "not_before": utc(not_before)}
    return _transition(tx, job_id, _DEFER, values, worker_id, tx.now())


def heartbeat(tx: Transaction, job_id: int, worker_id: str, *, now: datetime | None = None) -> bool:
    """Extend `worker_id`'s hold on a running job; False when it lost the job."""
    params = {"job_id": job_id, "worker": worker_id, "now": tx.now(now)}
    return tx.connection.execute(_HEARTBEAT, params).first() is not None


def heartbeat_all(tx: Transaction, worker_id: str, *, now: datetime | None = None) -> int:
    """Extend `worker_id`'s hold on every running job it has (one statement); how many."""
    return len(tx.connection.execute(_HEARTBEAT_ALL, {"worker": worker_id, "now": tx.now(now)}).all())


def release_stale(tx: Transaction, older_than: datetime, *, now: datetime | None = None) -> int:
    """Return running jobs with no heartbeat since `older_than` to pending; how many."""
    params = {"cutoff": utc(older_than), "now": tx.now(now)}
    return len(tx.connection.execute(_RELEASE_STALE, params).all())


def complete(
    tx: Transaction, job_id: int, *, result: Mapping[str, Any] | None = None, worker_id: str | None = None
) -> Job:
    """Mark a running job done with its result (only while `worker_id` holds it, when given)."""
    values = {"result": json_object(result, f"result of job {job_id}")}
    return _transition(tx, job_id, _COMPLETE, values, worker_id, tx.now())


def complete_many(tx: Transaction, done: Sequence[tuple[Job, Mapping[str, Any] | None]], *, worker_id: str) -> list[Job]:
    """Mark several running jobs that `worker_id` holds done, each with its result, in one
    executemany (a worker's batch of documents); the jobs as given with the change applied
    (state, result, updated_at). StoreError when any of them is no longer running or held by
    `worker_id` (then the transaction must not commit: some rows may have changed)."""
    if not done:
        return []
    now = tx.now()
    results = [json_object(result, f"result of job {job.id}") for job, result in done]
    params = [{"job_id": job.id, "now": now, "worker": worker_id, "new_result": result} for (job, _), result in zip(done, results, strict=True)]
    changed = tx.connection.execute(_COMPLETE.held_many, params).rowcount
    if changed != len(params):
        raise StoreError(f"cannot complete {len(params) - changed} of jobs {[job.id for job, _ in done]}: no longer running or not held by {worker_id!r}")
    return [replace(job, state=JobState.DONE, result=result, updated_at=now) for (job, _), result in zip(done, results, strict=True)]


def retry(tx: Transaction, job_id: int, *, error: str, not_before: datetime, worker_id: str | None = None) -> Job:
    """Mark a running job failed with `error`, to be claimed again from `not_before`."""
    values = {"last_error": error, "not_before": utc(not_before)}
    return _transition(tx, job_id, _RETRY, values, worker_id, tx.now())


def review(
    tx: Transaction,
    job_id: int,
    *,
    result: Mapping[str, Any] | None = None,
    reason: str,
    worker_id: str | None = None,
) -> Job:
    """Put a running job in the review state with its result and the reason (what waits
    for a person): it did what it could, the rest waits and is never claimed again;
    `requeue` (mlc replay) runs it again."""
    values = {"result": json_object(result, f"result of job {job_id}"), "last_error": reason}
    return _transition(tx, job_id, _REVIEW, values, worker_id, tx.now())


def dead_letter(tx: Transaction, job_id: int, *, error: str, worker_id: str | None = None) -> Job:
    """Give up on a running job with the reason; only `requeue` revives it."""
    return _transition(tx, job_id, _DEAD_LETTER, {"last_error": error}, worker_id, tx.now())


def skip(tx: Transaction, job_id: int, reason: str) -> Job:
    """Mark a pending, failed or running job skipped (it has nothing to do), with the reason
    (kept in `last_error`)."""
    return _transition(tx, job_id, _SKIP, {"last_error": reason}, None, tx.now())


def requeue(tx: Transaction, job_id: int, *, now: datetime | None = None) -> Job:
    """Make a done, dead, skipped, failed or review job pending again, due now, its attempts
    reset (for replay: `mlc replay` re-runs it from its stored input)."""
    at = tx.now(now)
    return _transition(tx, job_id, _REQUEUE, {"not_before": at}, None, at)


def get(tx: Transaction, job_id: int) -> Job:
    """The job with this id; `StoreError` when it does not exist."""
    row = tx.connection.execute(_GET, {"job_id": job_id}).one_or_none()
    if row is None:
        raise StoreError(f"job {job_id} does not exist")
    return _job(row)


def jobs(tx: Transaction, state: JobState | str | None = None, route: str | None = None, limit: int = 100) -> list[Job]:
    """The newest `limit` jobs, newest first, optionally of one state and route."""
    query = select(job_table).order_by(job_table.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(job_table.c.state == parse_state(JobState, state).value)
    if route is not None:
        query = query.where(job_table.c.route == route)
    return [_job(row) for row in tx.connection.execute(query)]


def job_counts(tx: Transaction, route: str | None = None) -> dict[JobState, int]:
    """How many jobs are in each state (every state present, zero when none)."""
    query = select(job_table.c.state, func.count()).group_by(job_table.c.state)
    if route is not None:
        query = query.where(job_table.c.route == route)
    counts = dict.fromkeys(JobState, 0)
    for state, count in tx.connection.execute(query):
        counts[JobState(state)] = count
    return counts


def matching_job_ids(text: str) -> Select[tuple[int]]:
    """Ids of the jobs `text` refers to: a job id, a document key, a source reference, the
    name of one of its artifacts, an outbound file name, an inbound file id, or the key of
    one of its audit events (the PO number of an inbound 850, the ERP document it created)."""
    conditions = [job_table.c.key == text, job_table.c.source_ref == text]
    if text.strip().isdigit():
        conditions.append(job_table.c.id == int(text.strip()))
    return select(
        union(
            select(job_table.c.id.label("id")).where(or_(*conditions)),
            select(artifacts.c.job_id).where(artifacts.c.name == text),
            select(outbound_groups.c.job_id).where(outbound_groups.c.filename == text),
            select(inbound_files.c.job_id).where(inbound_files.c.file_id == text),
            # a business number an event was keyed by (an inbound PO number, a created ERP document)
            select(audit_events.c.job_id).where(audit_events.c.key == text, audit_events.c.job_id.is_not(None)),
        )
        .subquery()
        .c.id
    )


def find_jobs(tx: Transaction, text: str) -> list[Job]:
    """Jobs whose id, key, source reference, artifact name, outbound file name or inbound
    file id is `text` (see `matching_job_ids`), oldest first."""
    query = select(job_table).where(job_table.c.id.in_(matching_job_ids(text))).order_by(job_table.c.id)
    return [_job(row) for row in tx.connection.execute(query)]


def _insert(
    connection: Connection,
    route: str,
    key: str,
    kind: str,
    partner: str | None,
    payload: Mapping[str, Any] | None,
    source_ref: str | None,
    not_before: datetime | None,
    now: datetime,
) -> Enqueued:
    """Insert the job unless (route, key) exists; either way the stored job."""
    values = {
        "route": route,
        "key": key,
        "kind": kind,
        "partner": partner,
        "state": JobState.PENDING.value,
        "attempts": 0,
        "payload": json_object(payload, f"payload of job {route}/{key}"),
        "source_ref": source_ref,
        "not_before": utc(not_before) if not_before is not None else now,
        "created_at": now,
        "updated_at": now,
    }
    row = connection.execute(_enqueue_statement(connection.dialect.name), values).one_or_none()
    if row is not None:
        return Enqueued(_job(row), True)
    return Enqueued(_job(connection.execute(_BY_KEY, {"route_": route, "key_": key}).one()), False)


class _Change:
    """A state change: its verb (for messages), the states it starts from, the values it sets
    whatever the call, and the columns each call gives a value for."""

    def __init__(
        self, verb: str, allowed: tuple[JobState, ...], fixed: Mapping[str, Any], variable: tuple[str, ...]
    ) -> None:
        self.verb = verb
        self.allowed = allowed
        values = {**fixed, **{name: bindparam(f"new_{name}", type_=job_table.c[name].type) for name in variable}}
        base = (
            update(job_table)
            .where(job_table.c.id == bindparam("job_id"), _in_states(allowed))
            .values({**values, "updated_at": _NOW})
        )
        held = base.where(job_table.c.claimed_by == bindparam("worker"))
        self.any_worker = base.returning(*job_table.c)
        self.held = held.returning(*job_table.c)
        self.held_many = held
        """`held` without RETURNING, for an executemany (`complete_many`)."""


def _in_states(states: tuple[JobState, ...]) -> Any:
    """`state IN (...)`, or `state = ...` for one state (which an executemany can run: an IN
    list is an expanding parameter)."""
    if len(states) == 1:
        return job_table.c.state == states[0].value
    return job_table.c.state.in_([state.value for state in states])


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
    {"state": JobState.PENDING.value, "claimed_by": None, "attempts": job_table.c.attempts - 1},
    ("last_error", "not_before"),
)
_REQUEUE = _Change(
    "requeue",
    (JobState.DONE, JobState.DEAD, JobState.SKIPPED, JobState.FAILED, JobState.REVIEW),
    {"state": JobState.PENDING.value, "attempts": 0, "claimed_by": None},
    ("not_before",),
)


def _transition(
    tx: Transaction, job_id: int, change: _Change, values: Mapping[str, Any], worker_id: str | None, now: datetime
) -> Job:
    params = {"job_id": job_id, "now": now, **{f"new_{name}": value for name, value in values.items()}}
    if worker_id is None:
        statement: ReturningUpdate[Any] = change.any_worker
    else:
        statement = change.held
        params["worker"] = worker_id
    row = tx.connection.execute(statement, params).one_or_none()
    if row is not None:
        return _job(row)
    current = get(tx, job_id)
    if current.state in change.allowed:
        raise StoreError(f"cannot {change.verb} job {job_id}: it is held by {current.claimed_by!r}, not {worker_id!r}")
    expected = " or ".join(state.value for state in change.allowed)
    raise StoreError(f"cannot {change.verb} job {job_id}: it is {current.state.value}, not {expected}")


@functools.cache
def _enqueue_statement(dialect: str) -> ReturningInsert[Any]:
    return (
        dialect_insert(dialect, job_table)
        .on_conflict_do_nothing(index_elements=[job_table.c.route, job_table.c.key])
        .returning(*job_table.c)
    )


@functools.cache
def _claim_statement(dialect: str, by_route: bool) -> ReturningUpdate[Any]:
    candidates = (
        select(job_table.c.id)
        .where(*_DUE)
        .order_by(job_table.c.id)
        .limit(bindparam("limit"))
    )
    if by_route:
        candidates = candidates.where(job_table.c.route.in_(bindparam("routes", expanding=True)))
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimable = candidates.cte("claimable")
    statement: Update = update(job_table).where(job_table.c.id.in_(select(claimable.c.id)))
    return statement.values(_CLAIMED).returning(*job_table.c)


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
