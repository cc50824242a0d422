"""Deployment thread ids: the agent thread of the deploy that created a deployment, so a
watcher can resume (or roll back) a deploy that a crash left half done.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ml_deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ml_deployments", schema=None) as batch_op:
        batch_op.drop_column("thread_id")
