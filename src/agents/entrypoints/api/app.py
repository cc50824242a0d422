"""``create_app(container)``: the HTTP ops API that mirrors the CLI over the same use cases.

Who approves. Over the API, the token's role *is* the approver role: a user holding an approver
(or admin) token may approve whether or not ``DEPLOYER_APPROVERS`` names them, because the
token table is where this API's operator grants roles, and asking for a second, separate grant
would only make a valid token fail in a way its holder cannot see or fix. The app therefore
runs the use cases on a container whose approvers are ``DEPLOYER_APPROVERS`` plus every
approver-role token user; the four-eyes rule is untouched (``operations.decide`` and the graph
still refuse an approval by the requester, 403). ``DEPLOYER_APPROVERS`` keeps governing the
CLI and the chat, where no token says who is who.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from agents.bootstrap import Container
from agents.entrypoints.api import routes_deployments, routes_models, routes_ops
from agents.entrypoints.api.auth import Role, TokenTable, load_tokens
from agents.entrypoints.api.errors import install_error_handlers
from agents.entrypoints.api.guard import RequestGuard, configured_max_body_bytes

TITLE = "model-deployer ops API"
DESCRIPTION = (
    "Promote, deploy, roll back and inspect ML models, as the `deployer` CLI does. "
    "Every route but /healthz needs `Authorization: Bearer TOKEN`, checked before the body is "
    "read (401); roles: viewer < deployer < approver < admin. A body over the limit "
    '(DEPLOYER_API_MAX_BODY_BYTES, 1 MiB) is 413. Errors are `{"error": {"type", "message"}}`.'
)
PUBLIC_PATHS = ("/healthz",)
"""Paths that need no token (besides the OpenAPI document and its viewers)."""


def _package_version() -> str:
    """The installed package's version, shown in the OpenAPI document."""
    try:
        return version("model-deployer")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def with_token_approvers(container: Container, tokens: TokenTable) -> Container:
    """``container``, or a copy whose settings add the approver-role token users to the
    approvers (see the module's docstring). A copy builds its own engine and is closed by the
    app when it shuts down."""
    settings = container.settings
    approvers = settings.approvers | tokens.holders_of(Role.APPROVER)
    if approvers == settings.approvers:
        return container
    text = ",".join(sorted(approvers))
    return dataclasses.replace(
        container, settings=settings.model_copy(update={"approvers_text": text})
    )


def create_app(
    container: Container, tokens: TokenTable | None = None, max_body_bytes: int | None = None
) -> FastAPI:
    """The API over ``container``'s home. ``tokens`` default to ``load_tokens`` (the
    environment, else the home's tokens file); none at all is a ConfigurationError.
    ``max_body_bytes`` defaults to ``DEPLOYER_API_MAX_BODY_BYTES`` (1 MiB).

    ``app.state.authenticate`` (token -> user or None) is the app's one authentication
    function: the guard calls it before anything else (see ``guard``)."""
    table = tokens if tokens is not None else load_tokens(container.settings.home_dir)
    serving = with_token_approvers(container, table)
    _build_shared_parts(serving)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if serving is not container:
            serving.close()

    app = FastAPI(
        title=TITLE, version=_package_version(), description=DESCRIPTION, lifespan=lifespan
    )
    app.state.container = serving
    app.state.tokens = table
    app.state.authenticate = table.authenticate
    limit = max_body_bytes or configured_max_body_bytes()
    public = {*PUBLIC_PATHS, app.openapi_url, app.docs_url, app.redoc_url}
    public.add(app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(RequestGuard, public_paths={p for p in public if p}, max_body_bytes=limit)
    install_error_handlers(app)  # its middleware wraps the guard: nothing escapes as a traceback
    for module in (routes_ops, routes_deployments, routes_models):
        app.include_router(module.router)
    return app


def _build_shared_parts(container: Container) -> None:
    """Build the container's cheap shared parts now, on one thread: built lazily, two
    requests' worker threads could each make an engine and one would never be disposed."""
    for part in ("engine", "session_factory", "router", "metrics", "endpoints"):
        getattr(container, part)
