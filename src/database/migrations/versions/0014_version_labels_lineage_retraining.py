"""Issue 15: semantic version labels and lineage on ml_model_registry (a label unique per
model), retraining_policies (how each model is retrained, what triggers it) and
retraining_runs (every retraining; active_model unique: one active run per model).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 04:33:59.791430
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retraining_policies",
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("entry_point", sa.String(length=100), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("drift_features", sa.Integer(), nullable=True),
        sa.Column("quality_drop", sa.Double(), nullable=True),
        sa.Column("schedule", sa.String(length=100), nullable=True),
        sa.Column("cooldown_seconds", sa.Double(), nullable=False),
        sa.Column("expensive", sa.Boolean(), nullable=False),
        sa.Column("data_window_seconds", sa.Double(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model_name", name=op.f("pk_retraining_policies")),
    )
    op.create_table(
        "retraining_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("active_model", sa.String(length=200), nullable=True),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parent_version", sa.String(length=50), nullable=True),
        sa.Column("new_version", sa.String(length=50), nullable=True),
        sa.Column("mlflow_run_id", sa.String(length=64), nullable=True),
        sa.Column("thread_id", sa.String(length=100), nullable=True),
        sa.Column("approval_id", sa.String(length=64), nullable=True),
        sa.Column(
            "evaluation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retraining_runs")),
        sa.UniqueConstraint("active_model", name=op.f("uq_retraining_runs_active_model")),
    )
    with op.batch_alter_table("retraining_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retraining_runs_model_name_requested_at"),
            ["model_name", "requested_at"],
            unique=False,
        )

    # Plain ALTER TABLE ADD COLUMN and CREATE INDEX: a batch rebuild of ml_model_registry on
    # SQLite would drop a table other tables' foreign keys reference.
    op.add_column("ml_model_registry", sa.Column("label", sa.String(length=30), nullable=True))
    op.add_column(
        "ml_model_registry",
        sa.Column(
            "lineage",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            server_default="{}",
        ),
    )
    op.create_index(
        op.f("ix_ml_model_registry_model_name_label"),
        "ml_model_registry",
        ["model_name", "label"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ml_model_registry_model_name_label"), table_name="ml_model_registry")
    op.drop_column("ml_model_registry", "lineage")
    op.drop_column("ml_model_registry", "label")

    with op.batch_alter_table("retraining_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retraining_runs_model_name_requested_at"))

    op.drop_table("retraining_runs")
    op.drop_table("retraining_policies")
