"""``RequestGuard``: the token first, then the body's size, before FastAPI parses anything.

A pure ASGI middleware, so neither check depends on a route's parameters:

1. Every path but the public ones (``/healthz`` and the OpenAPI document and its viewers) needs
   ``Authorization: Bearer TOKEN`` that the app's one authentication function
   (``app.state.authenticate``: token -> user or None) knows; otherwise 401 before a byte of the
   body is read, so a caller without a token learns nothing about what the body should be.
2. A body over the limit (``DEPLOYER_API_MAX_BODY_BYTES``, 1 MiB by default) is 413: a
   ``Content-Length`` over it is refused at once, and a chunked or streamed body is counted as it
   arrives and refused as soon as it passes the limit. A body within it is handed on unchanged.

Roles stay the routes' business (``deps.require``); the guard only asks "who is this?" and
leaves the answer in ``request.state.user`` for them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agents.entrypoints.api.errors import (
    BodyTooLargeError,
    NotAuthenticatedError,
    error_response,
    status_for,
)
from lifecycle.errors import ConfigurationError

MAX_BODY_ENV = "DEPLOYER_API_MAX_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

Authenticate = Callable[[str], Any]
"""The app's one authentication function: a token -> its user, or None."""


class GuardSettings(BaseSettings):
    """The guard's limit, read from the environment."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1, validation_alias=MAX_BODY_ENV)


def configured_max_body_bytes() -> int:
    """The limit from ``DEPLOYER_API_MAX_BODY_BYTES`` (1 MiB when unset)."""
    try:
        return GuardSettings().max_body_bytes
    except ValidationError:
        raise ConfigurationError(
            f"{MAX_BODY_ENV} must be a whole number of bytes, 1 or more"
        ) from None


def bearer_token(scope: Scope) -> str:
    """The token of ``Authorization: Bearer TOKEN`` ("" when there is none)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, or None when it gives none (or none readable)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class RequestGuard:
    """Authenticate, then bound the body; see the module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        public_paths: Collection[str],
        max_body_bytes: int,
        session_prefix: str = "",
    ) -> None:
        self.app = app
        self.public_paths = frozenset(public_paths)
        self.max_body_bytes = max_body_bytes
        self.session_prefix = session_prefix
        """Paths under it (the web dashboard's) check their own session cookie, not a bearer
        token; their bodies are still bounded."""

    def _needs_token(self, path: str) -> bool:
        if path in self.public_paths:
            return False
        prefix = self.session_prefix
        return not (prefix and (path == prefix or path.startswith(prefix + "/")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._needs_token(scope["path"]):
            problem = await self._who(scope)
            if problem:
                await _refuse(NotAuthenticatedError(problem), scope, receive, send)
                return
        body = await self._body(scope, receive)
        if body is None:
            limit = f"the request body is over the limit of {self.max_body_bytes} bytes"
            await _refuse(BodyTooLargeError(limit), scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _who(self, scope: Scope) -> str:
        """Why the request is not authenticated ("" when it is)."""
        token = bearer_token(scope)
        if not token:
            return "this request needs a bearer token (Authorization: Bearer TOKEN)"
        authenticate: Authenticate = scope["app"].state.authenticate
        user = await run_in_threadpool(authenticate, token)
        if user is None:
            return "the bearer token is not valid"
        scope.setdefault("state", {})["user"] = user
        return ""

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is known to be over the limit."""
        declared = declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees an empty body and then the disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the buffered body over once, then waits as the server does."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer ``exc`` in the error shape, with the status its class calls for."""
    assert isinstance(exc, (NotAuthenticatedError, BodyTooLargeError))
    response = error_response(status_for(exc), type(exc).__name__, str(exc))
    await response(scope, receive, send)
