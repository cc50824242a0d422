"""Service levels: slo_objectives (a model's objectives over the defaults) and slo_states (a
judged deployment's last SLO status and the counter samples of its window and baseline).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 01:22:54.761962
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slo_objectives",
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column(
            "objectives",
            sa.JSON().with_variant(JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model_name", name=op.f("pk_slo_objectives")),
    )
    op.create_table(
        "slo_states",
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "samples",
            sa.JSON().with_variant(JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("deployment_id", name=op.f("pk_slo_states")),
    )
    with op.batch_alter_table("slo_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slo_states_model_name"), ["model_name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slo_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slo_states_model_name"))

    op.drop_table("slo_states")
    op.drop_table("slo_objectives")
