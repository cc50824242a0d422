"""FastAPI dependencies: the container of the app, and the caller's identity and role.

``require(role)`` is the one place a route states who may call it; ``authenticate`` (over
``app.state.authenticator``) is the one place a token becomes a person, for routes and for any
middleware. The user it returns is the actor of the request (``requested_by``): no body field
can name someone else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from agents.bootstrap import Container
from agents.entrypoints.api.auth import ApiUser, Authenticator, Role
from agents.entrypoints.api.errors import NotAuthenticatedError
from lifecycle.errors import PermissionDeniedError
from lifecycle.names import MODEL_NAME_PATTERN
from lifecycle.tenants import TENANT_PATTERN, check_tenant, qualify

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A per-person token from `deployer access token create USER` (shown once).",
)
"""Declares the scheme in OpenAPI; ``auto_error=False`` so a missing token reaches ``require``,
which answers 401 in the API's own error shape."""

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def get_container(request: Request) -> Container:
    """The container this app was made with (see ``create_app``)."""
    container: Container = request.app.state.container
    return container


def get_authenticator(request: Request) -> Authenticator:
    """What this app authenticates tokens with (see ``create_app``)."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


def authenticate(token: str | None, authenticator: Authenticator) -> ApiUser:
    """The user of a bearer token; NotAuthenticatedError when there is none or it is not valid
    (unknown or revoked)."""
    if not token:
        raise NotAuthenticatedError(
            "this request needs a bearer token (Authorization: Bearer TOKEN)"
        )
    user = authenticator.authenticate(token)
    if user is None:
        raise NotAuthenticatedError("the bearer token is not valid")
    return user


AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]

GATES: dict[Callable[..., Any], Role] = {}
"""Each ``require(role)`` dependency -> its role: how ``model_name`` knows what a route needs."""


async def current_user(
    request: Request, credentials: Credentials, authenticator: AuthenticatorDep
) -> ApiUser:
    """The request's user, authenticated once per request (kept in ``request.state``)."""
    known: ApiUser | None = getattr(request.state, "api_user", None)
    if known is None:
        token = credentials.credentials if credentials is not None else None
        known = await run_in_threadpool(authenticate, token, authenticator)
        request.state.api_user = known
    return known


def first_gate(user: ApiUser, role: Role) -> None:
    """PermissionDeniedError unless ``user`` holds ``role`` or above in some tenant."""
    if not user.may_somewhere(role):
        raise PermissionDeniedError(
            f"{user.name} holds the {user.role_label} role; this needs {role.label} or above"
        )


def require(role: Role) -> Callable[..., Awaitable[ApiUser]]:
    """A dependency that lets only users holding ``role`` or above in some tenant through (else
    403): the first gate. A model-scoped route then checks the model's tenant (``model_name``;
    ``user.grants.check(role, model, what)`` for a name in a body) before it reads whether the
    model exists."""

    async def caller(
        request: Request, credentials: Credentials, authenticator: AuthenticatorDep
    ) -> ApiUser:
        user = await current_user(request, credentials, authenticator)
        first_gate(user, role)
        return user

    caller.__name__ = f"require_{role.label}"
    GATES[caller] = role
    return caller


def route_role(request: Request) -> Role:
    """The role the matched route's ``require`` asks (viewer when it names none)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    calls = [d.call for d in getattr(dependant, "dependencies", [])]
    return max((GATES[call] for call in calls if call in GATES), default=Role.VIEWER)


async def model_name(
    request: Request,
    name: Annotated[
        str,
        Path(
            pattern=rf"^{MODEL_NAME_PATTERN}$",
            description="The model's name in its tenant (the default tenant's when the path "
            "has no tenant segment).",
            examples=["churn"],
        ),
    ],
    credentials: Credentials,
    authenticator: AuthenticatorDep,
) -> str:
    """The route's model, qualified by the path's ``{tenant}`` when it has one
    (``/v1/models/team-a/fraud/...``), after the caller's role in the model's tenant is checked:
    the role the route asks, so another tenant's model and no model at all are refused alike
    (403), before anything reads whether it exists."""
    tenant = request.path_params.get("tenant")
    qualified = name if tenant is None else qualify(check_tenant(str(tenant)), name)
    user = await current_user(request, credentials, authenticator)
    needed = route_role(request)
    first_gate(user, needed)
    user.grants.check(needed, qualified, "this request")
    return qualified


async def tenant_segment(
    tenant: Annotated[
        str,
        Path(
            pattern=rf"^{TENANT_PATTERN}$", description="The model's tenant.", examples=["team-a"]
        ),
    ],
) -> None:
    """Declares (and validates) the ``{tenant}`` segment of a model route's tenant twin."""


ContainerDep = Annotated[Container, Depends(get_container)]
Viewer = Annotated[ApiUser, Depends(require(Role.VIEWER))]
Deployer = Annotated[ApiUser, Depends(require(Role.DEPLOYER))]
Approver = Annotated[ApiUser, Depends(require(Role.APPROVER))]
ModelName = Annotated[str, Depends(model_name)]
"""A model route's model: ``{name}`` (the default tenant's) or ``{tenant}/{name}``, checked."""
