"""Errors as the ops API answers them: one JSON shape, a status code chosen by the error's class.

Every error body is ``{"error": {"type": <class name>, "message": <one line>}}`` (a refused
production promotion adds ``"unmet"``: every criterion that failed). The status follows the
class hierarchy of ``lifecycle.errors``, never the message text:

======================================  =====  ============================================
class                                   code   why
======================================  =====  ============================================
NotAuthenticatedError                   401    no token, or one nobody issued (checked first)
BodyTooLargeError                       413    a body over the limit (checked before parsing)
PermissionDeniedError                   403    the role is too low, self-approval, ...
UnknownModelError                       404    no such model, version, deployment, approval
InvalidModelUriError                    404    the runs:/ or models:/ URI names no MLflow model
UnusableChannelUrlError                 404    the alert channel URL names no service Apprise knows
BadInputError (and the rest of it)      422    malformed or unusable input; nothing changed
RefusedError (gates, Deployment...)     409    a well-formed request the current state refuses
UnhonouredResourcesError                409    resources the server's serving backend refuses
ConflictError                           409    someone else changed it first (or decided it)
RollbackFailedError                     409    nothing to roll back to: the state says no
AwaitingApprovalError                   202    accepted, paused for an approver (+ approval_id)
InfrastructureError, retryable          503    a component is down; try again
InfrastructureError, not retryable      502    a component failed the request (a deploy step)
any other ModelDeployerError            500
anything unexpected                     500    one line; the traceback goes to the server log
======================================  =====  ============================================

The body of a request that is not UTF-8 JSON is 400. A schema-valid request is never 422: the
OpenAPI document's constraints (path patterns, body fields) admit only what the handlers accept,
and a move the current state does not allow (InvalidPromotionPathError), like a new model name
that reads like a registered one (AmbiguousModelNameError), is a refusal, 409.
``error_responses(...)`` documents each status a route can answer with ``ErrorEnvelope``.

A gate refusal (ProductionCriteriaNotMetError) is 409, not 422: the body was fine, the version's
evidence is not yet; the same request can succeed later without changing a byte.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifecycle.alerts import UnusableChannelUrlError
from lifecycle.errors import (
    AmbiguousModelNameError,
    AwaitingApprovalError,
    BadInputError,
    ConflictError,
    InfrastructureError,
    InvalidPromotionPathError,
    ModelDeployerError,
    PermissionDeniedError,
    ProductionCriteriaNotMetError,
    RefusedError,
    RollbackFailedError,
    UnknownModelError,
)
from lifecycle.redaction import redact_text
from lifecycle.resource_asks import UnhonouredResourcesError
from mlops.registry_mlflow import InvalidModelUriError

log = logging.getLogger(__name__)


class RedactingFilter(logging.Filter):
    """Hides URI passwords in a record's message and traceback before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            traceback = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_text(traceback)
        return True


log.addFilter(RedactingFilter())


class NotAuthenticatedError(RefusedError):
    """The request carries no bearer token, or one that no entry of the token table knows."""


class DeploymentInUseError(RefusedError):
    """The deployment still takes traffic (a weight or a mirror share in its routing table)."""


class DeploymentNotAdjustableError(RefusedError):
    """A share change asked of a deployment that is not a live, routed canary or shadow."""


class BodyTooLargeError(BadInputError):
    """A request body over the API's limit: refused before any of it is parsed."""


STATUS_BY_CLASS: tuple[tuple[type[ModelDeployerError], int], ...] = (
    (NotAuthenticatedError, 401),
    (PermissionDeniedError, 403),
    (UnknownModelError, 404),
    (InvalidModelUriError, 404),
    (UnusableChannelUrlError, 404),
    (BodyTooLargeError, 413),
    (InvalidPromotionPathError, 409),
    (AmbiguousModelNameError, 409),
    (UnhonouredResourcesError, 409),
    (BadInputError, 422),
    (RefusedError, 409),
    (ConflictError, 409),
    (RollbackFailedError, 409),
    (AwaitingApprovalError, 202),
)
"""The first class an error is an instance of decides its status (order matters)."""


def status_for(exc: ModelDeployerError) -> int:
    """The HTTP status for one of the project's errors (see the module's table)."""
    for cls, status in STATUS_BY_CLASS:
        if isinstance(exc, cls):
            return status
    if isinstance(exc, InfrastructureError):
        return 503 if exc.retryable else 502
    return 500


class ErrorDetail(BaseModel):
    """What went wrong: the error's class name and one line; some errors add a field."""

    model_config = ConfigDict(extra="forbid")

    type: str
    message: str
    unmet: list[str] | None = None
    """A refused production promotion: every criterion that failed."""
    approval_id: str | None = None
    """A run that waits for an approval: the approval to answer."""


class ErrorEnvelope(BaseModel):
    """Every error the API answers: ``{"error": {"type", "message"}}``."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


MEANINGS: dict[int, str] = {
    400: "The body is not UTF-8 JSON",
    401: "No bearer token, or one nobody issued (checked before the body is read)",
    403: "The token's role is too low, or the rules forbid it (four eyes)",
    404: "No such model, version, deployment, approval or run",
    409: "Well formed, but the current state refuses it (gates, a decided approval, ...)",
    413: "The body is over the API's limit (refused before it is parsed)",
    422: "The request does not match this document (nothing changed)",
    500: "An unexpected error (the server log has details)",
    502: "A component failed the request (e.g. a deploy step)",
    503: "A component is down; try again",
}

COMMON = (400, 401, 403, 413, 422, 500, 503)
"""What every route behind a token can answer, whatever it does."""


def error_responses(*statuses: int, common: bool = True) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses (and ``COMMON``), in the error shape."""
    chosen = {*statuses, *(COMMON if common else ())}
    return {
        status: {"model": ErrorEnvelope, "description": MEANINGS[status]}
        for status in sorted(chosen)
    }


def error_response(status: int, type_name: str, message: str, **extra: Any) -> JSONResponse:
    """The one error shape; ``message`` is cut to its first line, any URI in it redacted."""
    lines = message.strip().splitlines()
    first = redact_text(lines[0]) if lines else type_name
    body = {"error": {"type": type_name, "message": first, **extra}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _deployer_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ModelDeployerError)
    extra: dict[str, Any] = {}
    if isinstance(exc, ProductionCriteriaNotMetError):
        extra["unmet"] = list(exc.unmet)
    if isinstance(exc, AwaitingApprovalError):
        extra["approval_id"] = exc.approval_id
    return error_response(status_for(exc), type(exc).__name__, str(exc), **extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, type(exc).__name__, validation_message(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    response = error_response(exc.status_code, phrase.replace(" ", ""), str(exc.detail))
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request))
    return response


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (FastAPI makes one route per
    method, so the 405 of the first one would name only its own)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "\x00"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def validation_message(errors: Any) -> str:
    """``body.traffic: Input should be less than or equal to 100 (and 1 more problem)``."""
    problems = list(errors)
    if not problems:
        return "the request is not valid"
    first = problems[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "request"
    more = len(problems) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: {first.get('msg', 'invalid')}{tail}"


class InternalErrorMiddleware:
    """Turns an exception nobody handled into the 500 error shape, without a traceback in the
    body (it goes to the log). A response already under way cannot be replaced: re-raised."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_and_note(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception as exc:
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            name = type(exc).__name__
            response = error_response(500, name, f"unexpected {name}; the server log has details")
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error in the one shape: typed errors, validation, HTTP errors, the rest."""
    app.add_exception_handler(ModelDeployerError, _deployer_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(InternalErrorMiddleware)
