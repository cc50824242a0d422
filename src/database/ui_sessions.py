"""The dashboard's session rows (``ui_sessions``): open, find, close, and drop the expired.

Built over a unit of work's session (``UiSessionRepository(uow.session)``); the caller commits.
Ids come in already hashed (``session_hash``), so nothing here ever sees a cookie's value.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from database.access import token_hash
from database.models_access import ApiTokenRow
from database.models_ui import UiSessionRow

MAX_PER_TOKEN = 50
"""Live sessions one token may hold; a new login beyond it drops that token's oldest."""


def session_hash(session_id: str) -> str:
    """The SHA-256 of a session id, as stored."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class SessionOwner:
    """A live session's token (by id) and the person it belongs to."""

    token_id: str
    owner: str
    expires_at: datetime


class UiSessionRepository:
    """Session rows of one database session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self, hashed: str, token: str, expires_at: datetime, now: datetime) -> str | None:
        """Store a session for ``token`` (found by its hash, unrevoked); its token id, or None
        (nothing written) when no live token matches. Expired rows go first."""
        row = self.session.scalars(
            select(ApiTokenRow).where(ApiTokenRow.token_sha256 == token_hash(token))
        ).first()
        if row is None or row.revoked_at is not None:
            return None
        self.drop_expired(now)
        self._keep_room(row.token_id)
        self.session.add(
            UiSessionRow(
                session_sha256=hashed, token_id=row.token_id, created_at=now, expires_at=expires_at
            )
        )
        self.session.flush()
        return row.token_id

    def find(self, hashed: str, now: datetime) -> SessionOwner | None:
        """The live session of ``hashed`` with its unrevoked token's owner, or None (unknown,
        expired, or its token was revoked)."""
        found = self.session.execute(
            select(UiSessionRow.token_id, ApiTokenRow.owner, UiSessionRow.expires_at)
            .join(ApiTokenRow, ApiTokenRow.token_id == UiSessionRow.token_id)
            .where(
                UiSessionRow.session_sha256 == hashed,
                UiSessionRow.expires_at > now,
                ApiTokenRow.revoked_at.is_(None),
            )
        ).first()
        return None if found is None else SessionOwner(*found)

    def close(self, hashed: str) -> bool:
        """Delete the session; whether there was one."""
        done = self.session.execute(
            delete(UiSessionRow).where(UiSessionRow.session_sha256 == hashed)
        )
        return bool(getattr(done, "rowcount", 0))

    def drop_expired(self, now: datetime) -> int:
        """Delete every session past its expiry; how many."""
        done = self.session.execute(delete(UiSessionRow).where(UiSessionRow.expires_at <= now))
        return int(getattr(done, "rowcount", 0) or 0)

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(UiSessionRow)) or 0)

    def _keep_room(self, token_id: str) -> None:
        """Drop the token's oldest sessions so that one more fits under ``MAX_PER_TOKEN``."""
        kept = self.session.scalars(
            select(UiSessionRow.session_sha256)
            .where(UiSessionRow.token_id == token_id)
            .order_by(UiSessionRow.created_at.desc())
            .limit(MAX_PER_TOKEN - 1)
        ).all()
        self.session.execute(
            delete(UiSessionRow).where(
                UiSessionRow.token_id == token_id, UiSessionRow.session_sha256.not_in(kept)
            )
        )
