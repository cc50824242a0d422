"""Routes and gateway stats: the routing table every gateway serves, and what gateways measured.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:14:47.570187
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_stats",
        sa.Column("gateway_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column(
            "figures", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "gateway_id", "kind", "deployment_id", name=op.f("pk_gateway_stats")
        ),
    )
    with op.batch_alter_table("gateway_stats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gateway_stats_deployment_id"), ["deployment_id"], unique=False
        )

    op.create_table(
        "routes",
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column(
            "weights", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("shadow_deployment_id", sa.String(length=64), nullable=True),
        sa.Column("shadow_percent", sa.Double(), nullable=False),
        sa.Column("stable_deployment_id", sa.String(length=64), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model_name", name=op.f("pk_routes")),
    )


def downgrade() -> None:
    op.drop_table("routes")
    with op.batch_alter_table("gateway_stats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_stats_deployment_id"))

    op.drop_table("gateway_stats")
