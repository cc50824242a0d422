"""Tables of issue 14's service levels: each model's objectives (over the defaults from the
settings) and each judged deployment's SLO state (its last verdict and the counter samples its
trailing window and baseline are read from).

Same ``Base`` as ``database.models``; ``database/__init__.py`` imports this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from database.models import Base


class SloObjectivesRow(Base):
    """``slo_objectives``: a model's objectives that differ from the defaults (``{"p95_ms":
    50.0}``; a null value turns that bound off). No row: the defaults."""

    __tablename__ = "slo_objectives"

    model_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    objectives: Mapped[dict[str, Any]] = mapped_column()
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column()


class SloStateRow(Base):
    """``slo_states``: one judged deployment's last SLO status (a breach is said once, when it
    starts) and its cumulative counters sampled over the window and the baseline
    (``{"samples": [{"at": iso, "counts": {...}}, ...]}``, oldest first, thinned)."""

    __tablename__ = "slo_states"

    deployment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20))
    samples: Mapped[dict[str, Any]] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
