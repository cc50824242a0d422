"""Tables added for issue 14's drift part: each version's reference sample and each drift check.

Same ``Base`` as ``database.models``; ``database/__init__.py`` imports this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database.models import Base
from database.types import JSONDocument


class ReferenceSampleRow(Base):
    """``reference_samples``: the rows a version's production inputs are compared with (at most
    ``DEPLOYER_REFERENCE_MAX_ROWS``, sampled reproducibly), their columns and where they came
    from (``file:<path>`` given at register, or ``mlflow:<dataset>`` logged by the run)."""

    __tablename__ = "reference_samples"

    model_version_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(Text)
    columns: Mapped[Any] = mapped_column(JSONDocument)
    rows: Mapped[Any] = mapped_column(JSONDocument)
    """A list of rows, each a list of values in ``columns`` order."""
    row_count: Mapped[int] = mapped_column(Integer)
    source_rows: Mapped[int] = mapped_column(Integer)
    """How many rows the source had before sampling."""
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()


class DriftCheckRow(Base):
    """``drift_checks``: one drift check of a model's served version over a window of captured
    predictions: the verdict, the drifted columns and each column's figures."""

    __tablename__ = "drift_checks"
    __table_args__ = (Index(None, "model_name", "checked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(50))
    deployment_id: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column()
    checked_by: Mapped[str] = mapped_column(String(200))
    window_seconds: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(20))
    drifted: Mapped[Any] = mapped_column(JSONDocument)
    current_rows: Mapped[int] = mapped_column(Integer)
    reference_rows: Mapped[int] = mapped_column(Integer)
    columns: Mapped[Any] = mapped_column(JSONDocument)
    summary: Mapped[str] = mapped_column(Text)
