"""The initial schema: jobs, cursors, inbound files, interchanges, control numbers, outbound
groups, audit events, artifacts and leases (see engine/store/models.py).

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table of the state store."""
    op.create_table(
        "jobs",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("route", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("partner", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("source_ref", sa.String(), nullable=True),
        sa.Column("not_before", _at(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_at", _at(), nullable=True),
        sa.Column("heartbeat_at", _at(), nullable=True),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("updated_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("route", "key", name=op.f("uq_jobs_route_key")),
        sa.CheckConstraint(
            "state IN ('pending', 'running', 'done', 'failed', 'dead', 'skipped')", name=op.f("ck_jobs_state")
        ),
    )
    op.create_index(op.f("ix_jobs_state_not_before"), "jobs", ["state", "not_before"])
    op.create_index(op.f("ix_jobs_key"), "jobs", ["key"])
    op.create_index(op.f("ix_jobs_source_ref"), "jobs", ["source_ref"])

    op.create_table(
        "cursors",
        sa.Column("route", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("route", name=op.f("pk_cursors")),
    )

    op.create_table(
        "inbound_files",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("file_id", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("partner", sa.String(), nullable=True),
        sa.Column("route", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("job_id", _id(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", _at(), nullable=False),
        sa.Column("updated_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_files")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_inbound_files_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.UniqueConstraint("file_id", "sha256", name=op.f("uq_inbound_files_file_id_sha256")),
        sa.CheckConstraint(
            "state IN ('received', 'processed', 'archived', 'failed')", name=op.f("ck_inbound_files_state")
        ),
    )
    op.create_index(op.f("ix_inbound_files_job_id"), "inbound_files", ["job_id"])

    op.create_table(
        "interchanges",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("sender_qualifier", sa.String(), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("control_number", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.String(), nullable=True),
        sa.Column("job_id", _id(), nullable=True),
        sa.Column("received_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interchanges")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_interchanges_job_id_jobs"), ondelete="SET NULL"),
        sa.UniqueConstraint(
            "sender_qualifier",
            "sender_id",
            "control_number",
            name=op.f("uq_interchanges_sender_qualifier_sender_id_control_number"),
        ),
    )

    op.create_table(
        "control_numbers",
        sa.Column("partner", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("partner", "kind", name=op.f("pk_control_numbers")),
    )

    op.create_table(
        "outbound_groups",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("receiver_id", sa.String(), nullable=False),
        sa.Column("functional_id", sa.String(), nullable=False),
        sa.Column("group_control", sa.BigInteger(), nullable=False),
        sa.Column("set_ids", sa.JSON(), nullable=False),
        sa.Column("interchange_control", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("job_id", _id(), nullable=True),
        sa.Column("sent_at", _at(), nullable=False),
        sa.Column("ack_status", sa.String(), nullable=True),
        sa.Column("ack_file", sa.String(), nullable=True),
        sa.Column("acknowledged_at", _at(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_groups")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_outbound_groups_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.UniqueConstraint(
            "partner",
            "sender_id",
            "receiver_id",
            "group_control",
            name=op.f("uq_outbound_groups_partner_sender_id_receiver_id_group_control"),
        ),
    )
    op.create_index(op.f("ix_outbound_groups_sent_at"), "outbound_groups", ["sent_at"])
    op.create_index(op.f("ix_outbound_groups_filename"), "outbound_groups", ["filename"])
    op.create_index(op.f("ix_outbound_groups_job_id"), "outbound_groups", ["job_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("job_id", _id(), nullable=True),
        sa.Column("at", _at(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("route", sa.String(), nullable=True),
        sa.Column("key", sa.String(), nullable=True),
        sa.Column("partner", sa.String(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_audit_events_job_id_jobs"), ondelete="SET NULL"),
    )
    op.create_index(op.f("ix_audit_events_job_id"), "audit_events", ["job_id"])
    op.create_index(op.f("ix_audit_events_key"), "audit_events", ["key"])

    op.create_table(
        "artifacts",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("job_id", _id(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifacts")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_artifacts_job_id_jobs"), ondelete="CASCADE"),
    )
    op.create_index(op.f("ix_artifacts_job_id_role"), "artifacts", ["job_id", "role"])
    op.create_index(op.f("ix_artifacts_name"), "artifacts", ["name"])

    op.create_table(
        "leases",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("acquired_at", _at(), nullable=False),
        sa.Column("expires_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    """Drop every table of the state store (its whole content is lost)."""
    for table in (
        "leases",
        "artifacts",
        "audit_events",
        "outbound_groups",
        "control_numbers",
        "interchanges",
        "inbound_files",
        "cursors",
        "jobs",
    ):
        op.drop_table(table)
