"""``create_app(container)``: the HTTP ops API that mirrors the CLI over the same use cases.

Who calls. Every request but /healthz carries a per-person bearer token that
``app.state.authenticator`` (``auth.DbAuthenticator``: the state database's hashed tokens and role
bindings, read per request) turns into an ``ApiUser``; that user is the request's actor. Who may
approve is the same everywhere: the people holding approver or admin in the state database,
read by ``operations.decide`` inside the unit of work that decides, with four eyes on top.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from agents.bootstrap import Container
from agents.entrypoints.api import routes_deployments, routes_models, routes_ops
from agents.entrypoints.api.auth import Authenticator, DbAuthenticator
from agents.entrypoints.api.errors import install_error_handlers

TITLE = "model-deployer ops API"
DESCRIPTION = (
    "Promote, deploy, roll back and inspect ML models, as the `deployer` CLI does. "
    "Every route but /healthz needs `Authorization: Bearer TOKEN`; roles: viewer < deployer < "
    'approver < admin. Errors are `{"error": {"type", "message"}}`.'
)


def _package_version() -> str:
    """The installed package's version, shown in the OpenAPI document."""
    try:
        return version("model-deployer")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def create_app(container: Container, authenticator: Authenticator | None = None) -> FastAPI:
    """The API over ``container``'s home; tokens are authenticated by ``authenticator``
    (default: the home's state database, ``DbAuthenticator``)."""
    _build_shared_parts(container)
    app = FastAPI(title=TITLE, version=_package_version(), description=DESCRIPTION)
    app.state.container = container
    app.state.authenticator = authenticator or DbAuthenticator(container)
    install_error_handlers(app)
    for module in (routes_ops, routes_deployments, routes_models):
        app.include_router(module.router)
    return app


def _build_shared_parts(container: Container) -> None:
    """Build the container's cheap shared parts now, on one thread: built lazily, two
    requests' worker threads could each make an engine and one would never be disposed."""
    for part in ("engine", "session_factory", "router", "metrics", "endpoints"):
        getattr(container, part)
