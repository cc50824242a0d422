"""Issue 19's long-running operations: one row per request the API accepted with 202.

Same ``Base`` as ``database.models``; imported at the end of ``models.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database.models import Base


class OperationRow(Base):
    """``operations``: a deploy, promote or rollback the ops API runs in its worker, on the
    durable system thread ``thread_id`` (``lifecycle.operations.OperationStatus``).

    ``owner`` and ``heartbeat_at`` tell who runs it and that it still does: a worker claims a
    queued operation, or a running one whose heartbeat went stale (its process died), by
    compare-and-set on ``attempts`` (``OperationRepository.claim``)."""

    __tablename__ = "operations"
    __table_args__ = (Index(None, "status", "heartbeat_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200))
    """The model the operation changes."""
    requested_by: Mapped[str] = mapped_column(String(200))
    thread_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    command: Mapped[dict[str, Any]] = mapped_column()
    """The typed command as asked (``agents.commands``), so any worker can run it."""
    current_node: Mapped[str] = mapped_column(String(200), default="")
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column()
    error: Mapped[dict[str, Any] | None] = mapped_column()
    """``{"type", "message", "exit_code"}`` of the typed error a failed operation ended with."""
    owner: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
