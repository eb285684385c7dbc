"""Rate budgets: the shared state of each connection's client-side request pacing
(engine/store/budgets.py, engine/pacing).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the rate_budgets table."""
    op.create_table(
        "rate_budgets",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("tat", sa.Double(), nullable=False),
        sa.Column("spacing", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rate_budgets")),
    )


def downgrade() -> None:
    """Drop the rate_budgets table (pacing starts afresh: at most one burst more)."""
    op.drop_table("rate_budgets")
