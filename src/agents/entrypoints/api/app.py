"""``create_app(container)``: the HTTP ops API that mirrors the CLI over the same use cases.

Who calls. Every request but /healthz carries a per-person bearer token that
``app.state.authenticator`` (``auth.DbAuthenticator``: the state database's hashed tokens and role
bindings, read per request) turns into an ``ApiUser``; that user is the request's actor. Who may
approve is the same everywhere: the people holding approver or admin in the state database,
read by ``operations.decide`` inside the unit of work that decides, with four eyes on top.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from agents.bootstrap import Container
from agents.entrypoints.api import (
    routes_alerts,
    routes_capture,
    routes_decisions,
    routes_deployments,
    routes_drift,
    routes_feedback,
    routes_models,
    routes_operations,
    routes_ops,
    routes_quotas,
    routes_retraining,
    routes_slo,
    routes_system,
    routes_tenants,
)
from agents.entrypoints.api.auth import Authenticator, DbAuthenticator
from agents.entrypoints.api.deps import tenant_segment
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


def create_app(
    container: Container,
    authenticator: Authenticator | None = None,
    max_body_bytes: int | None = None,
) -> FastAPI:
    """The API over ``container``'s home; tokens are authenticated by ``authenticator``
    (default: the home's state database, ``DbAuthenticator``). ``max_body_bytes`` defaults to
    ``DEPLOYER_API_MAX_BODY_BYTES`` (1 MiB).

    ``app.state.authenticate`` (token -> user or None, the authenticator's) is the app's one
    authentication function: the guard calls it before anything else (see ``guard``)."""
    # The web dashboard (issue 18) imports this package's errors and auth: imported here, not
    # at the top, so either package may be imported first.
    from agents.entrypoints.web.routes import PREFIX as UI_PREFIX
    from agents.entrypoints.web.routes import router as ui_router

    _build_shared_parts(container)
    app = FastAPI(
        title=TITLE, version=_package_version(), description=DESCRIPTION, lifespan=_lifespan
    )
    app.state.container = container
    app.state.authenticator = authenticator or DbAuthenticator(container)
    app.state.authenticate = app.state.authenticator.authenticate
    limit = max_body_bytes or configured_max_body_bytes()
    public = {*PUBLIC_PATHS, app.openapi_url, app.docs_url, app.redoc_url}
    public.add(app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(
        RequestGuard,
        public_paths={p for p in public if p},
        max_body_bytes=limit,
        session_prefix=UI_PREFIX,  # the dashboard checks its session cookie itself
    )
    install_error_handlers(app)  # its middleware wraps the guard: nothing escapes as a traceback
    modules = (
        routes_ops,
        routes_deployments,
        routes_models,
        routes_feedback,
        routes_alerts,
        routes_capture,
        routes_drift,
        routes_slo,
        routes_decisions,
        routes_retraining,
        routes_system,
        routes_operations,
        routes_quotas,
        routes_tenants,
    )
    for module in modules:
        app.include_router(module.router)
    for module in modules:  # /v1/models/{tenant}/{name}/... beside /v1/models/{name}/...
        app.include_router(tenant_twin(module.router))
    app.include_router(ui_router)  # the web dashboard, /ui (issue 18)
    return app


MODEL_SEGMENT = "/{name}"
"""How a model route names its model (``deps.ModelName``); its twin says ``/{tenant}/{name}``."""


def tenant_twin(router: APIRouter) -> APIRouter:
    """The model routes of ``router`` again with the model's tenant in the path
    (``/v1/models/team-a/fraud/history`` beside ``/v1/models/fraud/history``, which is the
    default tenant's): the same endpoint, its ``{name}`` qualified by ``deps.model_name``."""
    twin = APIRouter(dependencies=[Depends(tenant_segment)])
    for route in router.routes:
        if not isinstance(route, APIRoute) or MODEL_SEGMENT not in route.path:
            continue
        if not route.path.startswith(("/v1/models/", "/v1/status/")):
            continue
        twin.add_api_route(
            route.path.replace(MODEL_SEGMENT, "/{tenant}" + MODEL_SEGMENT, 1),
            route.endpoint,
            methods=sorted(route.methods or ()),
            status_code=route.status_code,
            responses=route.responses,
            tags=list(route.tags),
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            dependencies=route.dependencies,
            response_class=route.response_class,
            name=f"{route.name}_in_tenant",
            include_in_schema=route.include_in_schema,
        )
    return twin


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the app serves, its worker runs the accepted operations (issue 19); it stops
    claiming at shutdown and lets the ones in flight finish."""
    from agents.handlers.operation_worker import OperationWorker

    worker = OperationWorker(app.state.container)
    app.state.operation_worker = worker
    worker.start()
    try:
        yield
    finally:
        app.state.operation_worker = None
        worker.stop()


def _build_shared_parts(container: Container) -> None:
    """Build the container's cheap shared parts now, on one thread: built lazily, two
    requests' worker threads could each make an engine and one would never be disposed."""
    for part in ("engine", "session_factory", "router", "metrics", "endpoints"):
        getattr(container, part)
