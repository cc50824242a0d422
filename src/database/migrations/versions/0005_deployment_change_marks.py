"""Deployment change marks: the run changing a deployment's server or service, and since when,
so the monitor leaves it alone while the change is in flight.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:43:23.786083
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ml_deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changing_run_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("changing_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ml_deployments", schema=None) as batch_op:
        batch_op.drop_column("changing_since")
        batch_op.drop_column("changing_run_id")
