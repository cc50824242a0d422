"""FastAPI dependencies: the container of the app, and the caller's identity and role.

``require(role)`` is the one place a route states who may call it; ``authenticate`` (over
``app.state.authenticator``) is the one place a token becomes a person, for routes and for any
middleware. The user it returns is the actor of the request (``requested_by``): no body field
can name someone else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from agents.bootstrap import Container
from agents.entrypoints.api.auth import ApiUser, Authenticator, Role
from agents.entrypoints.api.errors import NotAuthenticatedError
from lifecycle.errors import PermissionDeniedError

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


def require(role: Role) -> Callable[..., Awaitable[ApiUser]]:
    """A dependency that lets only users holding ``role`` or above in some tenant through (else
    403): the first gate. A model-scoped route then checks the model's tenant
    (``user.grants.check(role, model, what)``) before it reads whether the model exists."""

    async def caller(
        credentials: Credentials,
        authenticator: Annotated[Authenticator, Depends(get_authenticator)],
    ) -> ApiUser:
        token = credentials.credentials if credentials is not None else None
        user = await run_in_threadpool(authenticate, token, authenticator)
        if not user.may_somewhere(role):
            raise PermissionDeniedError(
                f"{user.name} holds the {user.role_label} role; this needs {role.label} or above"
            )
        return user

    caller.__name__ = f"require_{role.label}"
    return caller


ContainerDep = Annotated[Container, Depends(get_container)]
Viewer = Annotated[ApiUser, Depends(require(Role.VIEWER))]
Deployer = Annotated[ApiUser, Depends(require(Role.DEPLOYER))]
Approver = Annotated[ApiUser, Depends(require(Role.APPROVER))]
