"""Tenants (issue 19): ``tenants``, and a tenant on every role binding.

``access_bindings`` gains ``tenant`` (a tenant's name, or ``*`` for the whole platform) and its
uniqueness becomes (person, role, tenant). Existing bindings keep what they allowed: an admin
administered everything, so becomes a platform admin (``*``); any other role was over the one
flat world, whose models are now the ``default`` tenant's. The ``default`` tenant row is made.

``access_bindings`` is referenced by no other table, so the batch rebuild on SQLite is safe.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 19:49:28.290832
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tenants = op.create_table(
        "tenants",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tenants")),
    )
    op.bulk_insert(
        tenants,
        [{"name": "default", "created_by": "migration 0020", "created_at": datetime.now(UTC)}],
    )
    with op.batch_alter_table("access_bindings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tenant",
                sa.String(length=40),
                nullable=False,
                server_default=sa.text("'default'"),
            )
        )
        batch_op.drop_constraint(batch_op.f("uq_access_bindings_user_name_role"), type_="unique")
        batch_op.create_index(batch_op.f("ix_access_bindings_tenant"), ["tenant"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_access_bindings_user_name_role_tenant"), ["user_name", "role", "tenant"]
        )
    op.execute("UPDATE access_bindings SET tenant = '*' WHERE role = 'admin'")
    with op.batch_alter_table("access_bindings", schema=None) as batch_op:
        batch_op.alter_column("tenant", server_default=None)


def downgrade() -> None:
    # Bindings of one person and role in several tenants fold back into one.
    op.execute(
        "DELETE FROM access_bindings WHERE id NOT IN "
        "(SELECT MIN(id) FROM access_bindings GROUP BY user_name, role)"
    )
    with op.batch_alter_table("access_bindings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_access_bindings_user_name_role_tenant"), type_="unique"
        )
        batch_op.drop_index(batch_op.f("ix_access_bindings_tenant"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_access_bindings_user_name_role"), ["user_name", "role"]
        )
        batch_op.drop_column("tenant")
    op.drop_table("tenants")
