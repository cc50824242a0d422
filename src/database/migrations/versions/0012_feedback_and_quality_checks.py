"""Quality from feedback: feedback (the true label of a captured request, joined to predictions
on request_id) and quality_checks (each judgement of a deployment's rolling quality).

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-30 01:22:30.299191
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column(
            "label",
            sa.JSON().with_variant(JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("request_id", name=op.f("uq_feedback_request_id")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_model_name_received_at"),
            ["model_name", "received_at"],
            unique=False,
        )

    op.create_table(
        "quality_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("task", sa.String(length=20), nullable=True),
        sa.Column("metric", sa.String(length=20), nullable=True),
        sa.Column("observed", sa.Float(), nullable=True),
        sa.Column("approved", sa.Float(), nullable=True),
        sa.Column("labelled", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_checks")),
    )
    with op.batch_alter_table("quality_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quality_checks_deployment_id_checked_at"),
            ["deployment_id", "checked_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("quality_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_checks_deployment_id_checked_at"))

    op.drop_table("quality_checks")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_model_name_received_at"))

    op.drop_table("feedback")
