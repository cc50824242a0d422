"""Tables added for issue 14's quality from feedback: the ground-truth labels people send for
captured requests, and each judgement of a deployment's rolling quality against its approval.

Same ``Base`` as ``database.models``; ``database/__init__.py`` imports this module. The labels
join ``predictions`` on ``request_id`` (``database.feedback.labelled_predictions``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database.models import Base
from database.types import JSONDocument


class FeedbackRow(Base):
    """``feedback``: the true label of one request (``X-Request-Id``, unique): a class name or a
    number as JSON, who sent it and when; ``--replace`` changes it (``updated_*``)."""

    __tablename__ = "feedback"
    __table_args__ = (Index(None, "model_name", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    model_name: Mapped[str] = mapped_column(String(200))
    label: Mapped[Any] = mapped_column(JSONDocument)
    received_by: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column()
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None] = mapped_column()


class QualityCheckRow(Base):
    """``quality_checks``: one judgement of a deployment's rolling quality by ``deployer watch``
    (verdict ``ok``, ``drop`` or ``inconclusive``), so the next tick alerts only on a new drop."""

    __tablename__ = "quality_checks"
    __table_args__ = (Index(None, "deployment_id", "checked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checked_at: Mapped[datetime] = mapped_column()
    model_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(50))
    deployment_id: Mapped[str] = mapped_column(String(64))
    task: Mapped[str | None] = mapped_column(String(20))
    metric: Mapped[str | None] = mapped_column(String(20))
    observed: Mapped[float | None] = mapped_column(Float)
    approved: Mapped[float | None] = mapped_column(Float)
    labelled: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text, default="")
