"""The dashboard's sessions: a random id in an HTTP-only, SameSite=Strict cookie, kept in the
state database (``ui_sessions``, ``database.ui_sessions``) so that an API restart keeps people
logged in and every API replica over one database knows the same sessions.

The cookie holds nothing but the id (32 random bytes, URL-safe): never the token, never a name.
The database keeps only the id's SHA-256, the token's identity (``access_tokens.token_id``,
never the token) and the expiry, so reading it yields no usable cookie. Each request finds the
session's row joined to its token's: a revoked token ends every session opened with it, and
the person's grants are read again (a removed role ends what a session may do on its next
request, as with a bearer token). A session ends at logout, or ``ui_session_seconds``
(``DEPLOYER_UI_SESSION_SECONDS``, 8 hours) after login; expired rows are dropped at each login.

CSRF: a POST form carries the session's CSRF token, an HMAC of the session id (so it is never
stored, is the same on every replica, and does not reveal the id), compared in constant time.
The login form has one too (login CSRF, ``login_nonce``): a random nonce in a short-lived
SameSite=Strict cookie on ``/ui/login`` and its HMAC in the form; a login posted from another
site carries no such cookie and is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from agents.ports import Services
from database.ui_sessions import UiSessionRepository, session_hash
from lifecycle.records import utcnow
from lifecycle.tenants import Grants

COOKIE = "deployer_ui_session"
LOGIN_COOKIE = "deployer_ui_login"
"""The login form's nonce (path ``/ui/login``, a few minutes)."""
LOGIN_SECONDS = 600
"""How long a login form stays usable."""


def form_token(secret: str, purpose: str) -> str:
    """The token a form carries for ``secret`` (a session id or a login nonce): an HMAC, so it
    shows nothing of the secret and needs nothing stored."""
    return hmac.new(secret.encode(), f"deployer-ui:{purpose}".encode(), hashlib.sha256).hexdigest()


def token_matches(given: str, secret: str | None, purpose: str) -> bool:
    """Whether ``given`` is ``secret``'s form token (constant-time; nothing matches no secret)."""
    if not given or not secret:
        return False
    return hmac.compare_digest(given.encode(), form_token(secret, purpose).encode())


def login_nonce() -> str:
    """A fresh random nonce for one login form."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class UiSession:
    """One logged-in browser: its cookie id, its token's id, whose it is and their grants now
    (their roles per tenant, read on every request: a revoke counts at once)."""

    session_id: str
    token_id: str
    owner: str
    grants: Grants
    expires_at: datetime

    @property
    def csrf(self) -> str:
        """The session's CSRF token (what its pages put in their forms)."""
        return form_token(self.session_id, "csrf")

    def csrf_ok(self, given: str) -> bool:
        """Whether ``given`` is this session's CSRF token (constant-time)."""
        return token_matches(given, self.session_id, "csrf")


class SessionStore:
    """Sessions in ``c``'s state database; safe from any thread (each call its own unit of
    work)."""

    def __init__(self, c: Services, seconds: float) -> None:
        self.c = c
        self.seconds = seconds

    def open(self, token: str, now: datetime | None = None) -> UiSession | None:
        """A new session for ``token`` with a fresh random id; None (nothing stored) when the
        token is unknown or revoked."""
        now = now or utcnow()
        session_id = secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=self.seconds)
        with self.c.uow() as uow:
            token_id = UiSessionRepository(uow.session).open(
                session_hash(session_id), token, expires, now
            )
            if token_id is None:
                return None
            uow.commit()
        return self.get(session_id, now)

    def get(self, session_id: str | None, now: datetime | None = None) -> UiSession | None:
        """The live session of ``session_id`` with its person's grants now, or None (unknown,
        empty, expired, closed, or its token revoked)."""
        if not session_id:
            return None
        now = now or utcnow()
        with self.c.reader() as uow:
            found = UiSessionRepository(uow.session).find(session_hash(session_id), now)
            if found is None:
                return None
            grants = uow.access.grants_of(found.owner)
        return UiSession(session_id, found.token_id, found.owner, grants, found.expires_at)

    def close(self, session_id: str | None) -> None:
        """End a session (logout)."""
        if not session_id:
            return
        with self.c.uow() as uow:
            UiSessionRepository(uow.session).close(session_hash(session_id))
            uow.commit()
