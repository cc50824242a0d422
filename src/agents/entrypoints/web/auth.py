"""Who is looking at a page: the session cookie -> the session's row in the state database ->
its unrevoked token's person and their role now. A login authenticates the token with
``app.state.authenticate`` (the API's one authentication function) before a session opens."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from agents.entrypoints.api.auth import ApiUser
from agents.entrypoints.web.sessions import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SessionStore,
    UiSession,
)

MAX_FORM_BYTES = 64 * 1024
"""A form larger than this is refused (the API's body limit applies before it, too)."""


@dataclass(frozen=True)
class Viewer:
    """A logged-in person on a page: their session (CSRF token) and who they are now."""

    session: UiSession
    user: ApiUser


def sessions(request: Request) -> SessionStore:
    """The app's session store: the home's state database, with the home's session length."""
    container = request.app.state.container
    return SessionStore(container, container.settings.ui_session_seconds)


async def authenticate(request: Request, token: str) -> ApiUser | None:
    """The token's person and role now, or None (unknown, revoked, empty)."""
    if not token:
        return None
    found: ApiUser | None = await run_in_threadpool(request.app.state.authenticate, token)
    return found


async def viewer(request: Request) -> Viewer | None:
    """The person of the request's session, or None (no session, expired, or its token no
    longer authenticates anybody: that session is closed)."""
    session = await run_in_threadpool(sessions(request).get, request.cookies.get(COOKIE))
    if session is None:
        return None
    return Viewer(session, ApiUser(session.owner, session.role))


def set_cookie(request: Request, response: Response, session: UiSession, seconds: float) -> None:
    """The session id as an HTTP-only, SameSite=Strict cookie under /ui (Secure over HTTPS),
    kept by the browser no longer than the session lives here."""
    response.set_cookie(
        COOKIE,
        session.session_id,
        max_age=max(1, int(seconds)),
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")


def set_login_cookie(request: Request, response: Response, nonce: str) -> None:
    """The login form's nonce: HTTP-only, SameSite=Strict, only sent back to ``/ui/login``."""
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_SECONDS,
        path="/ui/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_login_cookie(response: Response) -> None:
    response.delete_cookie(LOGIN_COOKIE, path="/ui/login", httponly=True, samesite="strict")


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the first value of each); oversized or unreadable: empty."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
