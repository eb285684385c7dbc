"""The tables of the state store, as SQLAlchemy Core metadata.

The initial Alembic revision (`migrations/versions/0001_initial.py`) creates exactly these
tables; a test compares an autogenerate diff against this metadata on SQLite and PostgreSQL,
so the two cannot drift apart. A change here needs a new revision.

Every timestamp is stored as UTC (`UtcDateTime`): PostgreSQL keeps `timestamptz`, SQLite a
fixed-width text form in UTC, so comparisons and ordering work the same on both. Values are
set by the store, never by server defaults, so a test can inject the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

from engine.store.records import JobState, LedgerState

ACKNOWLEDGMENT_STATES = ("applied", "review")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# BIGINT is not a rowid alias in SQLite, so it would not autoincrement there.
Id = BigInteger().with_variant(Integer(), "sqlite")

JOB_STATES = tuple(state.value for state in JobState)
LEDGER_STATES = tuple(state.value for state in LedgerState)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the state store: pass a timezone-aware one")
        value = value.astimezone(UTC)
        # SQLite stores the text of the fields; without the offset, every stored value is UTC.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("route", String, nullable=False),
    Column("key", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("partner", String, nullable=True),
    Column("state", String, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("payload", JSON, nullable=True),
    Column("result", JSON, nullable=True),
    Column("source_ref", String, nullable=True),
    Column("not_before", UtcDateTime, nullable=False),
    Column("claimed_by", String, nullable=True),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("heartbeat_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("route", "key"),
    CheckConstraint(_in("state", JOB_STATES), name="state"),
    Index(None, "state", "not_before"),
    Index(None, "key"),
    Index(None, "source_ref"),
    # The operator console's job list: newest first, filtered by state, route or partner, or
    # a date range (revision 0003).
    Index(None, "state", "id"),
    Index(None, "route", "state"),
    Index(None, "route", "id"),
    Index(None, "partner", "id"),
    Index(None, "created_at"),
)

cursors = Table(
    "cursors",
    metadata,
    Column("route", String, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

inbound_files = Table(
    "inbound_files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("file_id", String, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("partner", String, nullable=True),
    Column("route", String, nullable=True),
    Column("state", String, nullable=False),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True),
    Column("error", Text, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("file_id", "sha256"),
    CheckConstraint(_in("state", LEDGER_STATES), name="state"),
    Index(None, "job_id"),
)

interchanges = Table(
    "interchanges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sender_qualifier", String, nullable=False),
    Column("sender_id", String, nullable=False),
    Column("control_number", BigInteger, nullable=False),
    Column("file_id", String, nullable=True),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("sender_qualifier", "sender_id", "control_number"),
    Index(None, "control_number"),
)

control_numbers = Table(
    "control_numbers",
    metadata,
    Column("partner", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("next_value", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("partner", "kind"),
)

outbound_groups = Table(
    "outbound_groups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("partner", String, nullable=False),
    Column("sender_id", String, nullable=False),
    Column("receiver_id", String, nullable=False),
    Column("functional_id", String, nullable=False),
    Column("group_control", BigInteger, nullable=False),
    Column("set_ids", JSON, nullable=False),
    Column("interchange_control", BigInteger, nullable=False),
    Column("filename", String, nullable=False),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("ack_status", String, nullable=True),
    Column("ack_file", String, nullable=True),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    UniqueConstraint("partner", "sender_id", "receiver_id", "group_control"),
    Index(None, "sent_at"),
    Index(None, "filename"),
    Index(None, "job_id"),
    Index(None, "interchange_control"),
    # Groups still waiting for their 997, per partner (the console's overview): a partial
    # index, small however many groups were acknowledged (revision 0003).
    Index("ix_outbound_groups_waiting", "partner", "sent_at", sqlite_where=text("ack_status IS NULL"), postgresql_where=text("ack_status IS NULL")),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Column("event", String, nullable=False),
    Column("route", String, nullable=True),
    Column("key", String, nullable=True),
    Column("partner", String, nullable=True),
    Column("status", Integer, nullable=True),
    Column("duration_ms", Float, nullable=True),
    Column("detail", JSON, nullable=True),
    Index(None, "job_id"),
    Index(None, "key"),
    # The console's overview: each route's last poll, recent poll failures (revision 0003).
    Index(None, "route", "event", "id"),
    Index(None, "event", "at"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("role", String, nullable=False),
    Column("name", String, nullable=False),
    Column("media_type", String, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "job_id", "role"),
    Index(None, "name"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String, primary_key=True),
    Column("holder", String, nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# -- the operator console (revision 0003) -------------------------------------------------------

CONSOLE_ROLES = ("viewer", "operator")

console_users = Table(
    "console_users",
    metadata,
    Column("name", String, primary_key=True),
    Column("password_hash", String, nullable=False),
    Column("role", String, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(_in("role", CONSOLE_ROLES), name="role"),
)

console_state = Table(
    "console_state",
    metadata,
    Column("name", String, primary_key=True),
    Column("value", String, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

job_references = Table(
    "job_references",
    metadata,
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String, nullable=False),
    Column("value", String, nullable=False),
    PrimaryKeyConstraint("job_id", "kind", "value"),
    Index(None, "value"),
)

acknowledgments = Table(
    "acknowledgments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job_id", Id, ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True),
    Column("route", String, nullable=False),
    Column("partner", String, nullable=True),
    Column("document", String, nullable=False),
    Column("control", String, nullable=False),
    Column("ack_type", String, nullable=False),
    Column("vendor_order", String, nullable=True),
    Column("acknowledged_on", String, nullable=True),
    Column("state", String, nullable=False),
    Column("note", Text, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("job_id", "document", "control"),
    CheckConstraint(_in("state", ACKNOWLEDGMENT_STATES), name="state"),
    Index(None, "document"),
    Index(None, "state"),
)

acknowledgment_lines = Table(
    "acknowledgment_lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("acknowledgment_id", Id, ForeignKey("acknowledgments.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("line_number", String, nullable=False),
    Column("item", String, nullable=False),
    Column("status", String, nullable=False),
    Column("status_code", String, nullable=False),
    Column("ours_quantity", Float, nullable=True),
    Column("theirs_quantity", Float, nullable=True),
    Column("ours_price", Float, nullable=True),
    Column("theirs_price", Float, nullable=True),
    Column("ours_date", String, nullable=True),
    Column("theirs_date", String, nullable=True),
    Column("applied", JSON, nullable=False),
    Column("held", JSON, nullable=False),
    Index(None, "acknowledgment_id"),
)

artifact_chunks = Table(
    "artifact_chunks",
    metadata,
    Column("artifact_id", Id, ForeignKey("artifacts.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    PrimaryKeyConstraint("artifact_id", "seq"),
)
"""The content of an artifact stored in pieces (a pushed file streamed in): its `artifacts`
row then has an empty `content` and the real `size` and SHA-256."""

# -- rate budgets (revision 0004) ---------------------------------------------------------------

rate_budgets = Table(
    "rate_budgets",
    metadata,
    Column("name", String, primary_key=True),
    Column("tat", Double, nullable=False),
    Column("spacing", Double, nullable=False),
)
"""One row per rate budget (a connection, or one endpoint of it): the GCRA's theoretical arrival
time `tat` (seconds since the epoch, from the workers' clocks) and the `spacing` between two
requests it was computed with (engine/store/budgets.py)."""
