"""Per-tenant quotas (issue 19 item 3): ``tenant_quotas``, one row per tenant that has limits
(deployments, replicas, CPU, memory, captured rows; NULL is unlimited), who set them and when.

A new table, no batch rebuild. It follows 0020 (tenants).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 20:01:26.211456
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_quotas",
        sa.Column("tenant", sa.String(length=32), nullable=False),
        sa.Column("max_deployments", sa.BigInteger(), nullable=True),
        sa.Column("max_replicas", sa.BigInteger(), nullable=True),
        sa.Column("max_cpu", sa.String(length=20), nullable=True),
        sa.Column("max_memory", sa.String(length=20), nullable=True),
        sa.Column("max_capture_rows", sa.BigInteger(), nullable=True),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_tenant_quotas")),
    )


def downgrade() -> None:
    op.drop_table("tenant_quotas")
