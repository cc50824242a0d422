"""Keyed audit, fenced leases, one actor per model: audit_events.payload_json (the canonical
text that is hashed), audit_head.keyed_from and .mac (where keyed hashes begin; the head's own
HMAC), leases.fence, the model_locks and audit_checks tables, and triggers that refuse UPDATE and
DELETE on audit_events and any change of audit_head.keyed_from (PostgreSQL and SQLite).

An existing chain stays as it is: its events keep their plain SHA-256 hashes and the head records
that keyed hashes begin after them (keyed_from = last_id + 1).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
)
PG_HEAD_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_head_keyed_from_fixed() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_head.keyed_from never changes';
END;
$$ LANGUAGE plpgsql
"""
PG_HEAD_TRIGGER = (
    "CREATE TRIGGER audit_head_keyed_from_fixed BEFORE UPDATE ON audit_head FOR EACH ROW "
    "WHEN (NEW.keyed_from <> OLD.keyed_from) EXECUTE FUNCTION audit_head_keyed_from_fixed()"
)
SQLITE_TRIGGERS = (
    *(
        f"CREATE TRIGGER audit_events_no_{op_name.lower()} BEFORE {op_name} ON audit_events "
        f"BEGIN SELECT RAISE(ABORT, 'audit events are append-only: {op_name} refused'); END"
        for op_name in ("UPDATE", "DELETE")
    ),
    "CREATE TRIGGER audit_head_keyed_from_fixed BEFORE UPDATE OF keyed_from ON audit_head "
    "WHEN NEW.keyed_from <> OLD.keyed_from "
    "BEGIN SELECT RAISE(ABORT, 'audit_head.keyed_from never changes'); END",
)


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload_json", sa.Text(), nullable=True))
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("keyed_from", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    op.execute("UPDATE audit_head SET keyed_from = last_id + 1")
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fence", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "model_locks",
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model_name", name=op.f("pk_model_locks")),
    )
    op.create_table(
        "audit_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_by", sa.String(length=200), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("first_bad_id", sa.Integer(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checks")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in (PG_FUNCTION, *PG_TRIGGERS, PG_HEAD_FUNCTION, PG_HEAD_TRIGGER):
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
        op.execute("DROP TRIGGER IF EXISTS audit_head_keyed_from_fixed ON audit_head")
        op.execute("DROP FUNCTION IF EXISTS audit_head_keyed_from_fixed()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_head_keyed_from_fixed")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    op.drop_table("audit_checks")
    op.drop_table("model_locks")
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_column("fence")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("mac")
        batch_op.drop_column("keyed_from")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("payload_json")
