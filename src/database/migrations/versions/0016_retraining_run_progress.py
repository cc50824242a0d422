"""A retraining run's heartbeat (``progress_at``) and how often a stalled run was taken up again
(``resume_attempts``), so the watcher resumes a run cut short, or fails it and frees the model.

Plain ALTER TABLE ADD COLUMN (no batch rebuild of a table other rows may point at).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 08:04:50.669074
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "retraining_runs", sa.Column("progress_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "retraining_runs",
        sa.Column("resume_attempts", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("retraining_runs", "resume_attempts")
    op.drop_column("retraining_runs", "progress_at")
