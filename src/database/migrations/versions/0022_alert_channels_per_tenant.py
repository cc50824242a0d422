"""Alert channels per tenant (issue 19): ``alert_channels.tenant``.

A channel with a tenant is told only that tenant's models' alerts; a channel without one (null,
every channel made before tenants) is the platform's and is told every alert, as before. A plain
added column: ``alert_channels`` is referenced by no foreign key, and nothing is rebuilt.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 20:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alert_channels", sa.Column("tenant", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_channels", schema=None) as batch_op:
        batch_op.drop_column("tenant")
