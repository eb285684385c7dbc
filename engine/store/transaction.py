"""The unit of work: every store operation, inside one database transaction.

    with store.transaction() as tx:
        isa = tx.next_control("acme", "isa")
        tx.put_artifact(job.id, "output", name, data, media_type="application/edi-x12")
        tx.complete(job.id, result={"file": name})
        tx.audit(job.id, "rendered", key=job.key)

Everything in the block commits together or not at all: control numbers taken in a
transaction that rolls back were never consumed. `Store` offers the same methods, each in a
transaction of its own. Keep a transaction short and free of network calls: on PostgreSQL the
rows it changed (a partner's control-number counter, a cursor) stay locked until it ends.

Where an operation is written: once, as a function of its concept's module (`jobs.enqueue`,
`controls.next_control`, `audit.audit`...) taking the `Transaction` first. That function holds
the public signature and docstring, checks and converts its arguments (`utc`, `json_object`,
the audit mask), reads the clock through `tx.now()` and runs its statements on
`tx.connection`. This class binds each one by name (`enqueue = translated(jobs.enqueue)`),
which adds the two things every operation shares: the guard against a transaction that has
ended and the translation of database errors into `StoreError`/`StoreBusyError`. `Store` binds
the same names once more, each in a transaction of its own (`engine.store.store`).

Why explicit bindings rather than methods written out or generated in a loop: a method per
operation was a second copy of every signature and argument conversion, while a loop of
`setattr` would hide the methods from mypy and from editors. A function assigned in a class
body is a method to mypy, pyright and the interpreter alike, so `tx.enqueue(...)` is checked
against `jobs.enqueue`'s own signature, completes in an editor, and `help()` shows its
docstring (kept by `functools.wraps`). The modules name `Transaction` only under
`TYPE_CHECKING`: at run time this module imports them, never the other way round. Operations
calling one another (`enqueue_many_and_advance` moves the cursor, then enqueues) call the
module functions directly, inside the same guard.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from engine.errors import StoreError
from engine.store import acknowledgments as acknowledgments_
from engine.store import artifacts as artifacts_
from engine.store import audit as audit_
from engine.store import budgets, controls, cursors, groups, leases, ledger
from engine.store import jobs as jobs_
from engine.store.database import Database
from engine.store.records import utc

Clock = Callable[[], datetime]
Mask = Callable[[str], str]
"""Replaces every secret value in a text (the store masks every audit row with it)."""
P = ParamSpec("P")
R = TypeVar("R")


def translated(operation: Callable[Concatenate[Transaction, P], R]) -> Callable[Concatenate[Transaction, P], R]:
    """`operation` as a `Transaction` method: refused once the transaction has ended, database
    errors turned into `StoreError`."""

    @functools.wraps(operation)
    def run(tx: Transaction, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if tx.closed:
            raise StoreError(f"{operation.__name__}: the transaction has ended")
        try:
            return operation(tx, *args, **kwargs)
        except SQLAlchemyError as exc:
            raise tx.database.error(exc) from exc

    return run


class Transaction:
    """Store operations sharing one database transaction (see the module docstring).

    `connection` is the transaction's SQLAlchemy connection, `database` the store's database,
    `mask` the function every audit row is masked with (None: no masking), `closed` whether
    the transaction has ended.
    """

    def __init__(self, connection: Connection, database: Database, clock: Clock, mask: Mask | None = None) -> None:
        self.connection = connection
        self.database = database
        self.mask = mask
        self.closed = False
        self._clock = clock

    def now(self, given: datetime | None = None) -> datetime:
        """`given` in UTC, or the store's clock when None."""
        return utc(given if given is not None else self._clock())

    # Jobs
    enqueue = translated(jobs_.enqueue)
    enqueue_many = translated(jobs_.enqueue_many)
    enqueue_many_and_advance = translated(jobs_.enqueue_many_and_advance)
    claim = translated(jobs_.claim)
    claim_one = translated(jobs_.claim_one)
    children = translated(jobs_.children)
    defer = translated(jobs_.defer)
    heartbeat = translated(jobs_.heartbeat)
    heartbeat_all = translated(jobs_.heartbeat_all)
    release_stale = translated(jobs_.release_stale)
    complete = translated(jobs_.complete)
    complete_many = translated(jobs_.complete_many)
    retry = translated(jobs_.retry)
    review = translated(jobs_.review)
    dead_letter = translated(jobs_.dead_letter)
    skip = translated(jobs_.skip)
    requeue = translated(jobs_.requeue)
    get = translated(jobs_.get)
    jobs = translated(jobs_.jobs)
    job_counts = translated(jobs_.job_counts)
    find_jobs = translated(jobs_.find_jobs)

    # Cursors
    cursor = translated(cursors.cursor)
    advance_cursor = translated(cursors.advance_cursor)

    # Inbound files and interchanges
    ledger_seen = translated(ledger.ledger_seen)
    ledger_for_file = translated(ledger.ledger_for_file)
    ledger_record = translated(ledger.ledger_record)
    ledger_update = translated(ledger.ledger_update)
    interchange_seen = translated(ledger.interchange_seen)
    interchange_record = translated(ledger.interchange_record)

    # Control numbers
    next_control = translated(controls.next_control)
    next_controls = translated(controls.next_controls)
    give_back_controls = translated(controls.give_back_controls)
    peek_control = translated(controls.peek_control)
    peek_controls = translated(controls.peek_controls)

    # Outbound groups, 997s and TA1s
    record_outbound_group = translated(groups.record_outbound_group)
    record_outbound_groups = translated(groups.record_outbound_groups)
    acknowledge_group = translated(groups.acknowledge_group)
    acknowledge_interchange = translated(groups.acknowledge_interchange)
    unacknowledged = translated(groups.unacknowledged)

    # Audit events
    audit = translated(audit_.audit)
    audit_many = translated(audit_.audit_many)
    audit_trail = translated(audit_.audit_trail)
    job_events = translated(audit_.job_events)

    # Artifacts
    put_artifact = translated(artifacts_.put_artifact)
    put_artifacts = translated(artifacts_.put_artifacts)
    put_artifact_stream = translated(artifacts_.put_artifact_stream)
    artifacts = translated(artifacts_.artifacts)
    artifact = translated(artifacts_.artifact)
    artifact_range = translated(artifacts_.artifact_range)

    # Order acknowledgments (855)
    record_acknowledgment = translated(acknowledgments_.record_acknowledgment)
    acknowledgments = translated(acknowledgments_.acknowledgments)

    # Leases
    try_lease = translated(leases.try_lease)
    release_lease = translated(leases.release_lease)

    reserve_rate = translated(budgets.reserve_rate)
    rate_tat = translated(budgets.rate_tat)
