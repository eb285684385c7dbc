"""The values the state store hands out: immutable snapshots of stored rows.

They are plain frozen dataclasses, detached from any database session, safe to pass between
threads and to print. None of them holds a secret: callers mask secrets before handing text to
the store (`engine.secrets.mask`), because audit events and errors are kept verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from engine.errors import StoreError


class JobState(StrEnum):
    """Where a job is in its life.

    pending -> running -> done | failed (retry scheduled, claimable again after `not_before`)
    | dead (dead-lettered, only `requeue` revives it) | skipped (nothing to do, with a reason).
    """

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"
    SKIPPED = "skipped"


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
