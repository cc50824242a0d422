"""Initial schema: model versions, deployments, version records, approvals, audit log.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 00:15:03.774789
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("approval_id", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("target_stage", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("approver", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("thread_id", sa.String(length=100), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("approval_id", name=op.f("pk_approvals")),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_state"), ["state"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "ml_model_registry",
        sa.Column("model_version_id", sa.String(length=300), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column(
            "metrics", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "params", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "success_criteria",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("artifact_uri", sa.Text(), nullable=True),
        sa.Column("preprocessing_uri", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("experiment_id", sa.String(length=64), nullable=True),
        sa.Column("parent_version", sa.String(length=50), nullable=True),
        sa.Column("bento_tag", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("model_version_id", name=op.f("pk_ml_model_registry")),
        sa.UniqueConstraint(
            "model_name", "version", name=op.f("uq_ml_model_registry_model_name_version")
        ),
    )
    with op.batch_alter_table("ml_model_registry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ml_model_registry_model_name"), ["model_name"], unique=False
        )

    op.create_table(
        "ml_deployments",
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("model_version_id", sa.String(length=300), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=50), nullable=False),
        sa.Column("experiment_id", sa.String(length=64), nullable=True),
        sa.Column("target_stage", sa.String(length=20), nullable=False),
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column("endpoint_name", sa.String(length=200), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=True),
        sa.Column("endpoint_pid", sa.Integer(), nullable=True),
        sa.Column("endpoint_port", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column("cpu_limit", sa.String(length=20), nullable=True),
        sa.Column("memory_limit", sa.String(length=20), nullable=True),
        sa.Column(
            "autoscaling", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("bento_tag", sa.String(length=300), nullable=True),
        sa.Column("traffic_percentage", sa.Double(), nullable=False),
        sa.Column("deployed_by", sa.String(length=100), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployment_duration_seconds", sa.Double(), nullable=True),
        sa.Column("drained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rolled_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["ml_model_registry.model_version_id"],
            name=op.f("fk_ml_deployments_model_version_id_ml_model_registry"),
        ),
        sa.PrimaryKeyConstraint("deployment_id", name=op.f("pk_ml_deployments")),
    )
    with op.batch_alter_table("ml_deployments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ml_deployments_active",
            ["model_name", "status"],
            unique=False,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.create_index(
            batch_op.f("ix_ml_deployments_model_version_id"), ["model_version_id"], unique=False
        )

    op.create_table(
        "version_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_version_id", sa.String(length=300), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("from_stage", sa.String(length=20), nullable=True),
        sa.Column("to_stage", sa.String(length=20), nullable=False),
        sa.Column(
            "metrics", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approval_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["ml_model_registry.model_version_id"],
            name=op.f("fk_version_records_model_version_id_ml_model_registry"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_records")),
    )
    with op.batch_alter_table("version_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_version_records_model_version_id"), ["model_version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("version_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_records_model_version_id"))

    op.drop_table("version_records")
    with op.batch_alter_table("ml_deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ml_deployments_model_version_id"))
        batch_op.drop_index(
            "ix_ml_deployments_active",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.drop_table("ml_deployments")
    with op.batch_alter_table("ml_model_registry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ml_model_registry_model_name"))

    op.drop_table("ml_model_registry")
    op.drop_table("audit_head")
    op.drop_table("audit_events")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvals_state"))

    op.drop_table("approvals")
