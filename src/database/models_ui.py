"""The web dashboard's sessions (``ui_sessions``, issue 18): shared by every API process over
one state database, so a restart or another replica keeps a person logged in.

A row keeps only the SHA-256 of the session id (the cookie's value), the token it was opened
with by identity (``access_tokens.token_id``, never the token) and when it ends. Reading the
table never yields a usable cookie or token.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base
from lifecycle.records import utcnow


class UiSessionRow(Base):
    """``ui_sessions``: one logged-in browser."""

    __tablename__ = "ui_sessions"

    session_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(String(40), index=True)
    """The ``access_tokens`` row the session authenticates with (a revoke ends the session)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
