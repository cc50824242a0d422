"""Who is looking at a page: the session cookie -> the session's row in the state database ->
its unrevoked token's person and their grants now (roles per tenant). A login authenticates
the token with ``app.state.authenticate`` (the API's one authentication function) before a
session opens."""

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
from lifecycle.approval import Role
from lifecycle.tenants import DEFAULT_TENANT, PLATFORM, Grants, tenant_of

MAX_FORM_BYTES = 64 * 1024
"""A form larger than this is refused (the API's body limit applies before it, too)."""


@dataclass(frozen=True)
class WebUser:
    """The person on a page and their grants now (roles per tenant, ``lifecycle.tenants``):
    every page is cut to the tenants they see and every action checked in its model's tenant."""

    name: str
    grants: Grants

    def may(self, needed: Role, model_name: str) -> bool:
        """Whether they hold ``needed`` or above in ``model_name``'s tenant."""
        return self.grants.may(needed, tenant_of(model_name))

    def may_somewhere(self, needed: Role) -> bool:
        return self.grants.may_somewhere(needed)

    @property
    def role_label(self) -> str:
        """Their roles as the header shows them: ``viewer, deployer in team-a`` (a default-tenant
        role by its name alone, as before tenants)."""
        held = sorted(self.grants.roles.items())
        if not held:
            return "no role"
        return ", ".join(_scoped(scope, role) for scope, role in held)


def _scoped(scope: str, role: Role) -> str:
    if scope == PLATFORM:
        return f"{role.label} of the platform"
    return role.label if scope == DEFAULT_TENANT else f"{role.label} in {scope}"


@dataclass(frozen=True)
class Viewer:
    """A logged-in person on a page: their session (CSRF token) and who they are now."""

    session: UiSession
    user: WebUser


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
    return Viewer(session, WebUser(session.owner, session.grants))


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
