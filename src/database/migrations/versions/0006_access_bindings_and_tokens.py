"""Access: role bindings granted by an admin, and per-person API tokens stored as SHA-256.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_bindings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("granted_by", sa.String(length=100), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_bindings")),
        sa.UniqueConstraint("user_name", "role", name=op.f("uq_access_bindings_user_name_role")),
    )
    with op.batch_alter_table("access_bindings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_bindings_user_name"), ["user_name"], unique=False
        )
    op.create_table(
        "access_tokens",
        sa.Column("token_id", sa.String(length=40), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_access_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_access_tokens_token_sha256")),
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_tokens_owner"), ["owner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_tokens_owner"))
    op.drop_table("access_tokens")
    with op.batch_alter_table("access_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_bindings_user_name"))
    op.drop_table("access_bindings")
