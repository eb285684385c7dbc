"""The review job state, order acknowledgments (855) line by line, and artifacts in chunks.

- `jobs.state` may be `review`: a job that did what the ERP allows and holds the rest for a
  person (an 855 whose changes a Released Business Central order refuses).
- `acknowledgments` / `acknowledgment_lines`: what a partner acknowledged next to our order.
- `artifact_chunks`: the content of an artifact stored in pieces (a pushed file streamed in).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATES = "state IN ('pending', 'running', 'done', 'failed', 'dead', 'skipped')"
_NEW_STATES = "state IN ('pending', 'running', 'done', 'failed', 'dead', 'skipped', 'review')"


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _job_states(condition: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new one.
    with op.batch_alter_table("jobs", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_jobs_state"), type_="check")
        batch.create_check_constraint(op.f("ck_jobs_state"), sa.text(condition))


def upgrade() -> None:
    """Allow the review state; create the acknowledgment and artifact-chunk tables."""
    _job_states(_NEW_STATES)
    op.create_table(
        "acknowledgments",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("job_id", _id(), nullable=True),
        sa.Column("route", sa.String(), nullable=False),
        sa.Column("partner", sa.String(), nullable=True),
        sa.Column("document", sa.String(), nullable=False),
        sa.Column("control", sa.String(), nullable=False),
        sa.Column("ack_type", sa.String(), nullable=False),
        sa.Column("vendor_order", sa.String(), nullable=True),
        sa.Column("acknowledged_on", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("received_at", _at(), nullable=False),
        sa.Column("updated_at", _at(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acknowledgments")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_acknowledgments_job_id_jobs"), ondelete="SET NULL"),
        sa.UniqueConstraint("job_id", "document", "control", name=op.f("uq_acknowledgments_job_id_document_control")),
        sa.CheckConstraint("state IN ('applied', 'review')", name=op.f("ck_acknowledgments_state")),
    )
    op.create_index(op.f("ix_acknowledgments_document"), "acknowledgments", ["document"])
    op.create_index(op.f("ix_acknowledgments_state"), "acknowledgments", ["state"])
    op.create_table(
        "acknowledgment_lines",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("acknowledgment_id", _id(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("line_number", sa.String(), nullable=False),
        sa.Column("item", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("status_code", sa.String(), nullable=False),
        sa.Column("ours_quantity", sa.Float(), nullable=True),
        sa.Column("theirs_quantity", sa.Float(), nullable=True),
        sa.Column("ours_price", sa.Float(), nullable=True),
        sa.Column("theirs_price", sa.Float(), nullable=True),
        sa.Column("ours_date", sa.String(), nullable=True),
        sa.Column("theirs_date", sa.String(), nullable=True),
        sa.Column("applied", sa.JSON(), nullable=False),
        sa.Column("held", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acknowledgment_lines")),
        sa.ForeignKeyConstraint(
            ["acknowledgment_id"], ["acknowledgments.id"], name=op.f("fk_acknowledgment_lines_acknowledgment_id_acknowledgments"), ondelete="CASCADE"
        ),
    )
    op.create_index(op.f("ix_acknowledgment_lines_acknowledgment_id"), "acknowledgment_lines", ["acknowledgment_id"])
    op.create_table(
        "artifact_chunks",
        sa.Column("artifact_id", _id(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("artifact_id", "seq", name=op.f("pk_artifact_chunks")),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name=op.f("fk_artifact_chunks_artifact_id_artifacts"), ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    """Drop the new tables; jobs in review become dead (their reason kept) before the state goes."""
    op.drop_table("artifact_chunks")
    op.drop_table("acknowledgment_lines")
    op.drop_table("acknowledgments")
    op.execute(sa.text("UPDATE jobs SET state = 'dead' WHERE state = 'review'"))
    _job_states(_OLD_STATES)
