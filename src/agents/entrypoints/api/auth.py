"""Who may call the ops API: per-person bearer tokens in the state database, and their roles.

An admin makes a token for a person (``deployer access token create USER``); it is shown once
and only its SHA-256 is stored. Each request's token is looked up by that hash
(``agents.handlers.access.authenticate``): an unknown or revoked token authenticates nobody, and
the person's role is their highest binding *now*, so a revoke takes effect on the next request.
No environment variable or file grants a token or a role.

Roles are ordered: viewer < deployer < approver < admin, each including the ones below it
(``lifecycle.approval.Role``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agents.handlers import access
from agents.ports import Services
from lifecycle.approval import ROLE_NAMES, Role, parse_role

__all__ = ["ROLE_NAMES", "ApiUser", "Authenticator", "DbAuthenticator", "Role", "parse_role"]


@dataclass(frozen=True)
class ApiUser:
    """The person a token stands for: the actor of every request made with it. ``role`` is None
    when every role they held was revoked (the token still says who, but allows nothing)."""

    name: str
    role: Role | None

    def may(self, needed: Role) -> bool:
        """Whether this user's role includes ``needed``."""
        return self.role is not None and self.role >= needed

    @property
    def role_label(self) -> str:
        """The role as messages name it (``no role`` when none is held)."""
        return "no" if self.role is None else self.role.label


class Authenticator(Protocol):
    """What turns a bearer token into a person: ``app.state.authenticator``. Any part of the app
    (a route dependency, a middleware) asks it, so there is one way to authenticate."""

    def authenticate(self, token: str) -> ApiUser | None: ...


class DbAuthenticator:
    """Tokens and roles from the state database of ``services``, read on every call."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def authenticate(self, token: str) -> ApiUser | None:
        """The token's owner with their highest role now, or None (unknown, revoked, empty)."""
        found = access.authenticate(self.services, token)
        return None if found is None else ApiUser(*found)
