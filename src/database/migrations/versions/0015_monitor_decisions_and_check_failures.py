"""Issue 15: monitor_decisions (the monitor agent's decisions with reasons, evidence and what
they handed over) and check_failures (a drift or quality check of the watch that raised).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 04:43:23.929850
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "check_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_failures")),
    )
    op.create_index(
        op.f("ix_check_failures_model_name_failed_at"),
        "check_failures",
        ["model_name", "failed_at"],
        unique=False,
    )
    op.create_table(
        "monitor_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=True),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("handoff", JSON, nullable=True),
        sa.Column("retraining_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_decisions")),
    )
    op.create_index(
        op.f("ix_monitor_decisions_model_name_decided_at"),
        "monitor_decisions",
        ["model_name", "decided_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_monitor_decisions_model_name_decided_at"), table_name="monitor_decisions"
    )
    op.drop_table("monitor_decisions")
    op.drop_index(op.f("ix_check_failures_model_name_failed_at"), table_name="check_failures")
    op.drop_table("check_failures")
