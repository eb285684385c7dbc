"""The values the state store hands out (immutable snapshots of stored rows) and the checks
on the values it is handed (`parse_state`, `utc`, `json_object`).

The records are plain frozen dataclasses, detached from any database session, safe to pass
between threads and to print. None of them holds a secret: audit rows are masked on the way in
(`Store.mask_audit`), and callers mask the other texts they hand the store
(`engine.secrets.mask`), because errors are kept verbatim.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from engine.errors import StoreError


class JobState(StrEnum):
    """Where a job is in its life.

    pending -> running -> done | failed (retry scheduled, claimable again after `not_before`)
    | dead (dead-lettered, only `requeue` revives it) | skipped (nothing to do, with a reason)
    | review (it did what the ERP allows and holds the rest for a person: an 855 whose changes a
    Released order refuses; never claimed again, `requeue` (`mlc replay`) re-runs it).
    """

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"
    SKIPPED = "skipped"
    REVIEW = "review"


class LedgerState(StrEnum):
    """Where an inbound file is: received, processed (its transactions committed), archived
    (removed from the inbox), or failed."""

    RECEIVED = "received"
    PROCESSED = "processed"
    ARCHIVED = "archived"
    FAILED = "failed"


StateT = TypeVar("StateT", JobState, LedgerState)


def parse_state(kind: type[StateT], value: StateT | str) -> StateT:
    """`value` as a member of `kind`; `StoreError` listing the valid states otherwise."""
    try:
        return kind(value)
    except ValueError:
        valid = ", ".join(member.value for member in kind)
        raise StoreError(f"unknown {kind.__name__} {value!r}; expected one of {valid}") from None


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


AuditRow = tuple[int | None, str, Mapping[str, Any]]
"""An audit event for `Transaction.audit_many`: (job id, event, the keyword arguments of
`Transaction.audit`)."""


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of work, unique on (route, key)."""

    id: int
    route: str
    key: str
    kind: str
    partner: str | None
    state: JobState
    attempts: int
    last_error: str | None
    payload: dict[str, Any] | None
    result: dict[str, Any] | None
    source_ref: str | None
    not_before: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    heartbeat_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job to enqueue with `enqueue_many_and_advance`; the route is the call's."""

    key: str
    kind: str
    partner: str | None = None
    payload: dict[str, Any] | None = None
    source_ref: str | None = None
    not_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewArtifact:
    """An artifact to store with `put_artifacts` (the arguments of `put_artifact`)."""

    job_id: int
    role: str
    name: str
    content: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class NewGroup:
    """An outbound group to record with `record_outbound_groups` (the arguments of
    `record_outbound_group`)."""

    partner: str
    sender_id: str
    receiver_id: str
    functional_id: str
    group_control: int
    set_ids: tuple[str, ...]
    interchange_control: int
    filename: str
    job_id: int | None = None
    sent_at: datetime | None = None


class Enqueued(NamedTuple):
    """The outcome of enqueuing one job: the stored job, and whether this call created it
    (False: the (route, key) was enqueued before, and nothing changed)."""

    job: Job
    created: bool


@dataclass(frozen=True, slots=True)
class EnqueueBatch:
    """The outcome of `enqueue_many_and_advance`.

    `advanced` is False when the cursor was not at the expected value: then nothing at all was
    written (the transaction was rolled back) and `jobs` is empty.
    """

    advanced: bool
    jobs: tuple[Enqueued, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """An inbound file seen by the engine, identified by its file id and content hash."""

    file_id: str
    sha256: str
    partner: str | None
    route: str | None
    state: LedgerState
    job_id: int | None
    error: str | None
    received_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OutboundGroup:
    """A functional group (GS/GE) we sent, waiting for or matched to its 997."""

    id: int
    partner: str
    sender_id: str
    receiver_id: str
    functional_id: str
    group_control: int
    set_ids: tuple[str, ...]
    interchange_control: int
    filename: str
    job_id: int | None
    sent_at: datetime
    ack_status: str | None
    ack_file: str | None
    acknowledged_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One step of the engine's work: a poll, fetch, render, upload, retry, failure..."""

    id: int
    job_id: int | None
    at: datetime
    event: str
    route: str | None
    key: str | None
    partner: str | None
    status: int | None
    duration_ms: float | None
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Artifact:
    """The exact bytes a job read or wrote, with their SHA-256."""

    id: int
    job_id: int
    role: str
    name: str
    media_type: str
    sha256: str
    size: int
    content: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AcknowledgmentLine:
    """One line of a partner's order acknowledgment (855) next to our order line.

    `ours_*` is the ERP line as it was read before the acknowledgment was applied, `theirs_*`
    what the partner acknowledged (None where the 855 says nothing). `applied` names the fields
    written to the ERP, `held` those the ERP would refuse now (a Released order): a non-empty
    `held` is a difference waiting for review.
    """

    line_number: str
    item: str
    status: str
    status_code: str
    ours_quantity: float | None
    theirs_quantity: float | None
    ours_price: float | None
    theirs_price: float | None
    ours_date: str | None
    theirs_date: str | None
    applied: tuple[str, ...]
    held: tuple[str, ...]

    @property
    def differences(self) -> dict[str, tuple[Any, Any]]:
        """Field -> (ours, theirs) for every value the partner acknowledged differently."""
        found: dict[str, tuple[Any, Any]] = {}
        for name, ours, theirs in (
            ("quantity", self.ours_quantity, self.theirs_quantity),
            ("price", self.ours_price, self.theirs_price),
            ("date", self.ours_date, self.theirs_date),
        ):
            if theirs is not None and ours != theirs:
                found[name] = (ours, theirs)
        return found


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """A partner's acknowledgment of one of our orders, as received and as applied.

    `state` is `applied` (everything the partner said is in the ERP, or nothing needed
    writing) or `review` (some lines' changes are held: the job is in the review state).
    """

    id: int
    job_id: int | None
    route: str
    partner: str | None
    document: str
    control: str
    ack_type: str
    vendor_order: str | None
    acknowledged_on: str | None
    state: str
    note: str | None
    lines: tuple[AcknowledgmentLine, ...]
    received_at: datetime
    updated_at: datetime

    @property
    def held_lines(self) -> tuple[AcknowledgmentLine, ...]:
        """The lines with changes the ERP would not take (what a reviewer looks at)."""
        return tuple(line for line in self.lines if line.held)
