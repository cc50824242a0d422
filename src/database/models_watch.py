"""Tables added for issue 14's production watch that more than one part reads: the captured
predictions (written by the gateways' capture sink, read by drift, feedback and export) and each
model's capture setting (read by the gateways with their routing table).

Same ``Base`` as ``database.models``; ``database/__init__.py`` imports this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from database.models import Base
from database.types import JSONDocument


class CaptureSettingRow(Base):
    """``capture_settings``: the share of a model's requests the gateways capture (0 = off, the
    default when a model has no row)."""

    __tablename__ = "capture_settings"

    model_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    percent: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column()


class PredictionRow(Base):
    """``predictions``: one captured request: its id (``X-Request-Id``, unique), the inputs,
    the output, the deployment (and version) that answered, its latency and HTTP status."""

    __tablename__ = "predictions"
    __table_args__ = (Index(None, "model_name", "captured_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    model_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(50))
    deployment_id: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column()
    latency_ms: Mapped[float] = mapped_column(Float)
    status: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    """The request JSON; None when the body was not strict JSON (the request is still kept)."""
    output: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    gateway: Mapped[str] = mapped_column(String(100), default="")
