"""The dashboard's sessions: a random id in an HTTP-only, SameSite=Strict cookie, mapped here,
in the API process's memory, to the token a person logged in with and a CSRF token.

The cookie holds nothing but the id (32 random bytes, URL-safe): never the token, never a name.
Each request turns the id back into the token and authenticates it again
(``app.state.authenticate``), so a revoked token or a removed role ends what a session may do on
its next request, as with a bearer token. A session ends at logout, or ``ui_session_seconds``
(``DEPLOYER_UI_SESSION_SECONDS``, 8 hours) after login; a restarted API forgets every session
(people log in again). POST forms carry the session's CSRF token, compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from lifecycle.records import utcnow

COOKIE = "deployer_ui_session"
MAX_SESSIONS = 10_000
"""Beyond this many live sessions the oldest is dropped (a login flood cannot fill memory)."""


@dataclass(frozen=True)
class UiSession:
    """One logged-in browser: its cookie id, the token it authenticates with, its CSRF token."""

    session_id: str
    token: str
    csrf: str
    expires_at: datetime

    def csrf_ok(self, given: str) -> bool:
        """Whether ``given`` is this session's CSRF token (constant-time)."""
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf.encode())


class SessionStore:
    """Live sessions by id, thread-safe (routes run in worker threads)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._sessions: dict[str, UiSession] = {}
        self._lock = threading.Lock()

    def open(self, token: str, now: datetime | None = None) -> UiSession:
        """A new session for ``token``, with fresh random id and CSRF token."""
        now = now or utcnow()
        session = UiSession(
            session_id=secrets.token_urlsafe(32),
            token=token,
            csrf=secrets.token_urlsafe(32),
            expires_at=now + timedelta(seconds=self.seconds),
        )
        with self._lock:
            self._drop_expired(now)
            while len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions.values(), key=lambda s: s.expires_at)
                del self._sessions[oldest.session_id]
            self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str | None, now: datetime | None = None) -> UiSession | None:
        """The live session of ``session_id``, or None (unknown, empty or expired)."""
        if not session_id:
            return None
        now = now or utcnow()
        with self._lock:
            found = self._sessions.get(session_id)
            if found is not None and found.expires_at <= now:
                del self._sessions[session_id]
                return None
            return found

    def close(self, session_id: str | None) -> None:
        """End a session (logout, or its token no longer authenticates)."""
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _drop_expired(self, now: datetime) -> None:
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]
