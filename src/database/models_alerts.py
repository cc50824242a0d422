"""Tables of issue 14's alerts: the channels a home tells, every alert told (or not) to each,
and the dispatcher's cursor over the audit chain (the outbox the alerts are derived from).

Same ``Base`` as ``database.models``; ``database/__init__.py`` imports this module.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from database.models import Base


class AlertChannelRow(Base):
    """``alert_channels``: an Apprise URL to tell (a secret: webhook tokens, SMTP passwords;
    shown only redacted), the event groups it takes ("" = all) and the least severity."""

    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(String(300), default="")
    min_severity: Mapped[str] = mapped_column(String(20), default="info")
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column()
    tenant: Mapped[str | None] = mapped_column(String(40), default=None)
    """The tenant whose models' alerts it is told (``lifecycle.tenant_views.channel_takes``);
    None: the platform's channel, told every alert."""


class AlertRow(Base):
    """``alerts``: one alert for one channel and what became of it: ``pending`` (due at
    ``next_attempt_at``, claimed by one dispatcher until ``claimed_until``), ``sent``,
    ``failed`` (attempts ran out; ``error`` says why, redacted) or ``suppressed`` (a repeat).
    ``source`` names what raised it (``audit:<event id>``, ``audit_check:<id>``,
    ``lease:<holder>``, ``test:<id>``); a source is told to a channel once."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("channel_id", "source"),
        Index(None, "state", "next_attempt_at"),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(50))
    event_group: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    model_name: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[str] = mapped_column(String(50), default="")
    deployment_id: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column()


class AlertCursorRow(Base):
    """``alert_cursor``: the last audit event and audit check the dispatcher turned into
    alerts; moved in the transaction that inserts them (by compare-and-set)."""

    __tablename__ = "alert_cursor"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    last_check_id: Mapped[int] = mapped_column(Integer, default=0)
