"""The operator console: its users, its session-signing key, the business numbers of each
job (search), and the indexes its pages read through (see engine/console).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("jobs", ("state", "id")),
    ("jobs", ("route", "state")),
    ("jobs", ("route", "id")),
    ("jobs", ("partner", "id")),
    ("jobs", ("created_at",)),
    ("interchanges", ("control_number",)),
    ("outbound_groups", ("interchange_control",)),
    ("audit_events", ("route", "event", "id")),
    ("audit_events", ("event", "at")),
)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _name(table: str, columns: Sequence[str]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    """Create the console's tables and indexes."""
    op.create_table(
        "console_users",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_console_users")),
        sa.CheckConstraint("role IN ('viewer', 'operator')", name=op.f("ck_console_users_role")),
    )
    op.create_table(
        "console_state",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_console_state")),
    )
    op.create_table(
        "job_references",
        sa.Column("job_id", _id(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "kind", "value", name=op.f("pk_job_references")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_references_job_id_jobs"), ondelete="CASCADE"),
    )
    op.create_index(op.f("ix_job_references_value"), "job_references", ["value"])
    for table, columns in _INDEXES:
        op.create_index(op.f(_name(table, columns)), table, list(columns))
    waiting = sa.text("ack_status IS NULL")
    op.create_index("ix_outbound_groups_waiting", "outbound_groups", ["partner", "sent_at"], sqlite_where=waiting, postgresql_where=waiting)


def downgrade() -> None:
    """Drop the console's indexes and tables (its users and search index are lost)."""
    op.drop_index("ix_outbound_groups_waiting", table_name="outbound_groups")
    for table, columns in reversed(_INDEXES):
        op.drop_index(op.f(_name(table, columns)), table_name=table)
    op.drop_index(op.f("ix_job_references_value"), table_name="job_references")
    for table in ("job_references", "console_state", "console_users"):
        op.drop_table(table)
