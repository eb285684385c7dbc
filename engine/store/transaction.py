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
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from engine.errors import StoreError
from engine.store import acknowledgments as acknowledgments_
from engine.store import artifacts as artifacts_
from engine.store import audit as audit_
from engine.store import controls, cursors, groups, jobs, leases, ledger
from engine.store.database import Database
from engine.store.records import (
    Acknowledgment,
    AcknowledgmentLine,
    Artifact,
    AuditEvent,
    EnqueueBatch,
    Enqueued,
    Job,
    JobState,
    LedgerEntry,
    LedgerState,
    NewJob,
    OutboundGroup,
)

Clock = Callable[[], datetime]
Mask = Callable[[str], str]
"""Replaces every secret value in a text (the store masks every audit row with it)."""
P = ParamSpec("P")
R = TypeVar("R")


def utc(value: datetime) -> datetime:
    """`value` in UTC; `StoreError` for a naive datetime (its zone would be a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"naive datetime {value.isoformat()} given to the state store: pass a timezone-aware one")
    return value.astimezone(UTC)


def json_object(value: Mapping[str, Any] | None, what: str) -> dict[str, Any] | None:
    """`value` as a dict, after checking that it is JSON (the same on every backend: no NaN)."""
    if value is None:
        return None
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} is not JSON: {exc}") from exc
    return dict(value)


def masked(value: Any, mask: Mask) -> Any:
    """`value` with `mask` applied to every text in it (keys kept, lists and dicts walked)."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {key: masked(item, mask) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item, mask) for item in value]
    return value


def translated(method: Callable[Concatenate[Transaction, P], R]) -> Callable[Concatenate[Transaction, P], R]:
    """Run `method` on an open transaction, turning database errors into `StoreError`."""

    @functools.wraps(method)
    def run(tx: Transaction, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if tx.closed:
            raise StoreError(f"{method.__name__}: the transaction has ended")
        try:
            return method(tx, *args, **kwargs)
        except SQLAlchemyError as exc:
            raise tx.database.error(exc) from exc

    return run


class Transaction:
    """Store operations sharing one database transaction (see the module docstring)."""

    def __init__(self, connection: Connection, database: Database, clock: Clock, mask: Mask | None = None) -> None:
        self.connection = connection
        self.database = database
        self.closed = False
        self._clock = clock
        self._mask = mask

    def now(self, given: datetime | None = None) -> datetime:
        """`given` in UTC, or the store's clock when None."""
        return utc(given if given is not None else self._clock())

    # Jobs

    @translated
    def enqueue(
        self,
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
        return jobs.enqueue(
            self.connection,
            route,
            key,
            kind=kind,
            partner=partner,
            payload=json_object(payload, f"payload of job {route}/{key}"),
            source_ref=source_ref,
            not_before=utc(not_before) if not_before is not None else None,
            now=self.now(),
        )

    @translated
    def enqueue_many(self, route: str, new_jobs: Sequence[NewJob]) -> list[Enqueued]:
        """Enqueue every job of `new_jobs` on `route` (each a no-op if its key exists)."""
        now = self.now()
        return [
            jobs.enqueue(
                self.connection,
                route,
                job.key,
                kind=job.kind,
                partner=job.partner,
                payload=json_object(job.payload, f"payload of job {route}/{job.key}"),
                source_ref=job.source_ref,
                not_before=utc(job.not_before) if job.not_before is not None else None,
                now=now,
            )
            for job in new_jobs
        ]

    @translated
    def enqueue_many_and_advance(
        self, route: str, new_jobs: Sequence[NewJob], cursor_value: str, *, expected: str | None
    ) -> EnqueueBatch:
        """Move the route's cursor from `expected` to `cursor_value` and enqueue the jobs it
        covers, in this transaction. When the cursor is not at `expected`, nothing is written."""
        if not cursors.advance(self.connection, route, cursor_value, expected=expected, now=self.now()):
            return EnqueueBatch(advanced=False)
        return EnqueueBatch(advanced=True, jobs=tuple(self.enqueue_many(route, new_jobs)))

    @translated
    def claim(
        self, worker_id: str, *, limit: int = 1, routes: Iterable[str] | None = None, now: datetime | None = None
    ) -> list[Job]:
        """Claim up to `limit` due jobs, oldest first (PostgreSQL: SKIP LOCKED, no waiting)."""
        return jobs.claim(self.connection, worker_id, limit=limit, routes=routes, now=self.now(now))

    @translated
    def claim_one(self, job_id: int, worker_id: str, *, now: datetime | None = None) -> Job | None:
        """Claim the job `job_id` if it is due; None when it is not claimable now."""
        return jobs.claim_one(self.connection, job_id, worker_id, now=self.now(now))

    @translated
    def children(self, prefix: str) -> list[Job]:
        """The jobs whose key starts with `prefix` (a file job's transactions), oldest first."""
        return jobs.children(self.connection, prefix)

    @translated
    def defer(self, job_id: int, *, reason: str, not_before: datetime, worker_id: str | None = None) -> Job:
        """Put a running job back to pending until `not_before`, its attempt not counted."""
        return jobs.defer(
            self.connection, job_id, reason=reason, not_before=utc(not_before), worker_id=worker_id, now=self.now()
        )

    @translated
    def heartbeat(self, job_id: int, worker_id: str, *, now: datetime | None = None) -> bool:
        """Extend `worker_id`'s hold on a running job; False when it lost the job."""
        return jobs.heartbeat(self.connection, job_id, worker_id, now=self.now(now))

    @translated
    def heartbeat_all(self, worker_id: str, *, now: datetime | None = None) -> int:
        """Extend `worker_id`'s hold on every running job it has (one statement); how many."""
        return jobs.heartbeat_all(self.connection, worker_id, now=self.now(now))

    @translated
    def release_stale(self, older_than: datetime, *, now: datetime | None = None) -> int:
        """Return running jobs with no heartbeat since `older_than` to pending; how many."""
        return jobs.release_stale(self.connection, older_than=utc(older_than), now=self.now(now))

    @translated
    def complete(self, job_id: int, *, result: Mapping[str, Any] | None = None, worker_id: str | None = None) -> Job:
        """Mark a running job done (only while `worker_id` holds it, when given)."""
        return jobs.complete(
            self.connection,
            job_id,
            result=json_object(result, f"result of job {job_id}"),
            worker_id=worker_id,
            now=self.now(),
        )

    @translated
    def retry(self, job_id: int, *, error: str, not_before: datetime, worker_id: str | None = None) -> Job:
        """Mark a running job failed, to be claimed again from `not_before`."""
        return jobs.retry(
            self.connection, job_id, error=error, not_before=utc(not_before), worker_id=worker_id, now=self.now()
        )

    @translated
    def review(self, job_id: int, *, result: Mapping[str, Any] | None = None, reason: str, worker_id: str | None = None) -> Job:
        """Put a running job in the review state with its result and the reason (what waits
        for a person); `requeue` (mlc replay) runs it again."""
        return jobs.review(
            self.connection, job_id, result=json_object(result, f"result of job {job_id}"), reason=reason, worker_id=worker_id, now=self.now()
        )

    @translated
    def dead_letter(self, job_id: int, *, error: str, worker_id: str | None = None) -> Job:
        """Give up on a running job with the reason; only `requeue` revives it."""
        return jobs.dead_letter(self.connection, job_id, error=error, worker_id=worker_id, now=self.now())

    @translated
    def skip(self, job_id: int, reason: str) -> Job:
        """Mark a pending, failed or running job skipped, with the reason."""
        return jobs.skip(self.connection, job_id, reason, now=self.now())

    @translated
    def requeue(self, job_id: int, *, now: datetime | None = None) -> Job:
        """Make a done, dead, skipped or failed job pending again, due now (for replay)."""
        return jobs.requeue(self.connection, job_id, now=self.now(now))

    @translated
    def get(self, job_id: int) -> Job:
        """The job with this id; `StoreError` when it does not exist."""
        return jobs.get(self.connection, job_id)

    @translated
    def jobs(self, state: JobState | str | None = None, route: str | None = None, limit: int = 100) -> list[Job]:
        """The newest jobs first, optionally of one state and route."""
        return jobs.list_jobs(self.connection, state=state, route=route, limit=limit)

    @translated
    def job_counts(self, route: str | None = None) -> dict[JobState, int]:
        """How many jobs are in each state."""
        return jobs.count_jobs(self.connection, route=route)

    @translated
    def find_jobs(self, text: str) -> list[Job]:
        """Jobs whose id, key, source reference, artifact name, outbound file name or inbound
        file id is `text`."""
        return jobs.find_jobs(self.connection, text)

    # Cursors

    @translated
    def cursor(self, route: str) -> str | None:
        """The route's watermark, or None before the first advance."""
        return cursors.read(self.connection, route)

    @translated
    def advance_cursor(self, route: str, value: str, *, expected: str | None) -> bool:
        """Compare-and-set the route's cursor from `expected` to `value`; whether it moved."""
        return cursors.advance(self.connection, route, value, expected=expected, now=self.now())

    # Inbound files and interchanges

    @translated
    def ledger_seen(self, file_id: str, sha256: str) -> LedgerEntry | None:
        """The ledger entry of this file content, or None."""
        return ledger.file_seen(self.connection, file_id, sha256)

    @translated
    def ledger_for_file(self, file_id: str) -> list[LedgerEntry]:
        """Every ledger entry of this file id, whatever its content (a file already taken)."""
        return ledger.entries_of_file(self.connection, file_id)

    @translated
    def ledger_record(
        self,
        file_id: str,
        sha256: str,
        *,
        partner: str | None = None,
        route: str | None = None,
        state: LedgerState | str = LedgerState.RECEIVED,
        job_id: int | None = None,
    ) -> tuple[LedgerEntry, bool]:
        """Record an inbound file unless known: `(entry, created)`; race-safe."""
        return ledger.record_file(
            self.connection, file_id, sha256, partner=partner, route=route, state=state, job_id=job_id, now=self.now()
        )

    @translated
    def ledger_update(
        self,
        file_id: str,
        sha256: str,
        *,
        state: LedgerState | str,
        job_id: int | None = None,
        error: str | None = None,
    ) -> LedgerEntry:
        """Move a recorded inbound file to `state`."""
        return ledger.update_file(
            self.connection, file_id, sha256, state=state, job_id=job_id, error=error, now=self.now()
        )

    @translated
    def interchange_seen(self, sender_qualifier: str, sender_id: str, control_number: int | str) -> bool:
        """Whether this sender's interchange with this ISA13 was processed before."""
        return ledger.interchange_seen(self.connection, sender_qualifier, sender_id, control_number)

    @translated
    def interchange_record(
        self,
        sender_qualifier: str,
        sender_id: str,
        control_number: int | str,
        *,
        file_id: str | None = None,
        job_id: int | None = None,
    ) -> bool:
        """Record an interchange; False when anyone recorded it before (a duplicate)."""
        return ledger.record_interchange(
            self.connection, sender_qualifier, sender_id, control_number, file_id=file_id, job_id=job_id, now=self.now()
        )

    # Control numbers

    @translated
    def next_control(self, partner: str, kind: str, *, count: int = 1) -> int:
        """Consume `count` consecutive control numbers of `kind` (isa, gs, st); the first."""
        return controls.take(self.connection, partner, kind, count=count, now=self.now())

    @translated
    def peek_control(self, partner: str, kind: str) -> int:
        """The control number `next_control` would return next, without consuming it."""
        return controls.peek(self.connection, partner, kind)

    # Outbound groups and 997s

    @translated
    def record_outbound_group(
        self,
        partner: str,
        sender_id: str,
        receiver_id: str,
        functional_id: str,
        group_control: int,
        set_ids: Sequence[str],
        interchange_control: int,
        filename: str,
        job_id: int | None = None,
        sent_at: datetime | None = None,
    ) -> OutboundGroup:
        """Record a group we sent, to match its 997 later."""
        return groups.record(
            self.connection,
            partner=partner,
            sender_id=sender_id,
            receiver_id=receiver_id,
            functional_id=functional_id,
            group_control=group_control,
            set_ids=set_ids,
            interchange_control=interchange_control,
            filename=filename,
            job_id=job_id,
            sent_at=self.now(sent_at),
        )

    @translated
    def acknowledge_interchange(
        self, partner: str, interchange_control: int, status: str, ack_file: str | None = None, *, now: datetime | None = None
    ) -> int:
        """Match a TA1 to the groups of our interchange `interchange_control` to `partner`
        (`R` rejects them); how many groups it names."""
        return groups.acknowledge_interchange(
            self.connection,
            partner=partner,
            interchange_control=interchange_control,
            status=status,
            ack_file=ack_file,
            now=self.now(now),
        )

    def acknowledge_group(
        self,
        sender_id: str,
        receiver_id: str,
        group_control: int,
        status: str,
        ack_file: str | None = None,
        *,
        partner: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Match a 997 to our group (our GS02/GS03, its AK102 group control number), of
        `partner` when given; whether one matched."""
        return groups.acknowledge(
            self.connection,
            sender_id=sender_id,
            receiver_id=receiver_id,
            group_control=group_control,
            status=status,
            ack_file=ack_file,
            partner=partner,
            now=self.now(now),
        )

    @translated
    def unacknowledged(self, older_than: datetime) -> list[OutboundGroup]:
        """Groups sent before `older_than` with no 997 yet, oldest first."""
        return groups.unacknowledged(self.connection, older_than=utc(older_than))

    # Audit events

    @translated
    def audit(
        self,
        job_id: int | None,
        event: str,
        *,
        route: str | None = None,
        key: str | None = None,
        partner: str | None = None,
        status: int | None = None,
        duration_ms: float | None = None,
        detail: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> int:
        """Record an audit event; its id. Every text in `detail` (the message included, at any
        depth) is masked with the store's mask first (`Store.mask_audit`): this is the one place
        audit rows are written, so no path can store a secret in one."""
        if self._mask is not None and detail:
            detail = masked(detail, self._mask)
        return audit_.record(
            self.connection,
            job_id,
            event,
            route=route,
            key=key,
            partner=partner,
            status=status,
            duration_ms=duration_ms,
            detail=json_object(detail, f"detail of audit event {event!r}"),
            at=self.now(at),
        )

    @translated
    def audit_trail(self, text: str) -> list[AuditEvent]:
        """Every event of the jobs `text` names (see `find_jobs`) or carrying it as key."""
        return audit_.trail(self.connection, text)

    @translated
    def job_events(self, job_id: int) -> list[AuditEvent]:
        """The audit events of one job, in order."""
        return audit_.for_job(self.connection, job_id)

    # Artifacts

    @translated
    def put_artifact(self, job_id: int, role: str, name: str, content: bytes, media_type: str) -> Artifact:
        """Store the exact bytes of a job's input, output, 997... with their SHA-256."""
        return artifacts_.put(self.connection, job_id, role, name, content, media_type=media_type, now=self.now())

    @translated
    def artifacts(self, job_id: int) -> list[Artifact]:
        """Every artifact of the job, oldest first."""
        return artifacts_.of_job(self.connection, job_id)

    @translated
    def artifact_range(self, job_id: int, role: str, start: int, length: int) -> bytes | None:
        """`length` bytes from byte `start` of the job's newest artifact in `role`, or None."""
        return artifacts_.read_range(self.connection, job_id, role, start, length)

    @translated
    def artifact(self, job_id: int, role: str) -> Artifact | None:
        """The newest artifact of the job in `role`, or None."""
        return artifacts_.latest(self.connection, job_id, role)

    @translated
    def put_artifact_stream(self, job_id: int, role: str, name: str, chunks: Iterable[bytes], media_type: str) -> Artifact:
        """Store an artifact from `chunks` without joining them in memory (a pushed file
        spooled to disk): each chunk is a row of its own, the SHA-256 and size are computed on
        the way. Read back, it is one `Artifact` like any other."""
        return artifacts_.put_stream(self.connection, job_id, role, name, chunks, media_type=media_type, now=self.now())

    # Order acknowledgments (855)

    @translated
    def record_acknowledgment(
        self,
        job_id: int | None,
        *,
        route: str,
        partner: str | None,
        document: str,
        control: str,
        ack_type: str,
        vendor_order: str | None = None,
        acknowledged_on: str | None = None,
        state: str,
        note: str | None = None,
        lines: Sequence[AcknowledgmentLine] = (),
    ) -> int:
        """Record a partner's acknowledgment of order `document` (transaction `control`) with its
        lines, replacing what this job recorded for it before; the acknowledgment's id."""
        return acknowledgments_.record(
            self.connection, job_id=job_id, route=route, partner=partner, document=document, control=control,
            ack_type=ack_type, vendor_order=vendor_order, acknowledged_on=acknowledged_on, state=state, note=note,
            lines=lines, now=self.now(),
        )

    @translated
    def acknowledgments(
        self, job_id: int | None = None, *, state: str | None = None, document: str | None = None, limit: int = 100
    ) -> list[Acknowledgment]:
        """Order acknowledgments (855s) as recorded, newest first, each with its lines: ours
        (quantity, price, date as the ERP had them) next to the partner's, the fields applied
        and the fields held for review.

        The query behind `mlc jobs --state review` and the console's review page:
        `acknowledgments(state="review")` is every acknowledgment waiting for a person,
        `acknowledgments(job_id)` those of one job; `Acknowledgment.held_lines` and
        `AcknowledgmentLine.differences` give the per-line differences to show.
        """
        return acknowledgments_.find(self.connection, job_id=job_id, state=state, document=document, limit=limit)

    # Leases

    @translated
    def try_lease(self, name: str, holder: str, ttl_seconds: float, *, now: datetime | None = None) -> bool:
        """Take or renew the lease `name` for `holder`; whether `holder` now holds it."""
        return leases.try_take(self.connection, name, holder, ttl_seconds=ttl_seconds, now=self.now(now))

    @translated
    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up if `holder` holds it; whether it did."""
        return leases.release(self.connection, name, holder)
