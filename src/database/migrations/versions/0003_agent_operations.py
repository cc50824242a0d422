"""Agent operations (idempotency keys, so a resumed graph never repeats a side effect);
approvals learn which graph run waits on them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:05:54.380158
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_operations",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column(
            "result", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_agent_operations")),
    )
    with op.batch_alter_table("agent_operations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_operations_run_id"), ["run_id"], unique=False)

    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkpoint_ns", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("run_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_column("run_id")
        batch_op.drop_column("checkpoint_ns")
    with op.batch_alter_table("agent_operations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_operations_run_id"))

    op.drop_table("agent_operations")
