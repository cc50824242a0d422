"""The serving backend that runs a deployment's server (``ml_deployments.serving_backend``:
``local`` or ``ray``), so it is checked and stopped there even after ``DEPLOYER_SERVING``
changed. Existing rows were all started locally: the server default says so.

Plain ALTER TABLE ADD COLUMN (no batch rebuild of a table other rows point at).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 11:33:16.984336
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "ml_deployments",
        sa.Column("serving_backend", sa.String(length=20), server_default="local", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("ml_deployments", "serving_backend")
