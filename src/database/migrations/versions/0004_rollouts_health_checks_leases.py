"""The monitor's tables: rollouts (what a tick owns of each canary, blue-green and shadow
deployment), health_checks (every judgement it made) and leases (one watcher ticks at a time).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:51:50.165233
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column(
            "metrics", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("tick_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_checks")),
    )
    with op.batch_alter_table("health_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_health_checks_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_health_checks_model_name"), ["model_name"], unique=False
        )

    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "rollouts",
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("baseline_deployment_id", sa.String(length=64), nullable=True),
        sa.Column(
            "steps", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("step_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pause_seconds", sa.Double(), nullable=False),
        sa.Column("warm_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "config", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "marks", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "pending", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("last_message", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["ml_deployments.deployment_id"],
            name=op.f("fk_rollouts_deployment_id_ml_deployments"),
        ),
        sa.PrimaryKeyConstraint("deployment_id", name=op.f("pk_rollouts")),
    )
    with op.batch_alter_table("rollouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rollouts_model_name"), ["model_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_rollouts_phase"), ["phase"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rollouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rollouts_phase"))
        batch_op.drop_index(batch_op.f("ix_rollouts_model_name"))

    op.drop_table("rollouts")
    op.drop_table("leases")
    with op.batch_alter_table("health_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_checks_model_name"))
        batch_op.drop_index(batch_op.f("ix_health_checks_deployment_id"))

    op.drop_table("health_checks")
