"""FastAPI dependencies: the container of the app, and the caller's identity and role.

``require(role)`` is the one place a route states who may call it. The user it returns is the
actor of the request (``requested_by`` / ``--by``): no body field can name someone else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agents.bootstrap import Container
from agents.entrypoints.api.auth import ApiUser, Role, TokenTable
from agents.entrypoints.api.errors import NotAuthenticatedError
from lifecycle.errors import PermissionDeniedError

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from DEPLOYER_API_TOKENS or $DEPLOYER_HOME/api-tokens.json.",
)
"""Declares the scheme in OpenAPI; ``auto_error=False`` so a missing token reaches ``require``,
which answers 401 in the API's own error shape."""

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def get_container(request: Request) -> Container:
    """The container this app was made with (see ``create_app``)."""
    container: Container = request.app.state.container
    return container


def get_tokens(request: Request) -> TokenTable:
    """The token table this app was made with."""
    tokens: TokenTable = request.app.state.tokens
    return tokens


def authenticate(credentials: HTTPAuthorizationCredentials | None, tokens: TokenTable) -> ApiUser:
    """The user of the request's bearer token; NotAuthenticatedError when there is none."""
    if credentials is None or not credentials.credentials:
        raise NotAuthenticatedError(
            "this request needs a bearer token (Authorization: Bearer TOKEN)"
        )
    user = tokens.authenticate(credentials.credentials)
    if user is None:
        raise NotAuthenticatedError("the bearer token is not valid")
    return user


def require(role: Role) -> Callable[..., Awaitable[ApiUser]]:
    """A dependency that lets only users whose role includes ``role`` through (else 403)."""

    async def caller(
        credentials: Credentials, tokens: Annotated[TokenTable, Depends(get_tokens)]
    ) -> ApiUser:
        user = authenticate(credentials, tokens)
        if not user.may(role):
            raise PermissionDeniedError(
                f"{user.name} holds the {user.role.label} role; this needs {role.label} or above"
            )
        return user

    caller.__name__ = f"require_{role.label}"
    return caller


ContainerDep = Annotated[Container, Depends(get_container)]
Viewer = Annotated[ApiUser, Depends(require(Role.VIEWER))]
Deployer = Annotated[ApiUser, Depends(require(Role.DEPLOYER))]
Approver = Annotated[ApiUser, Depends(require(Role.APPROVER))]
