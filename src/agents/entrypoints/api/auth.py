"""Who may call the ops API: per-person bearer tokens in the state database, and their roles.

An admin makes a token for a person (``deployer access token create USER``); it is shown once
and only its SHA-256 is stored. Each request's token is looked up by that hash
(``agents.handlers.access.authenticate``): an unknown or revoked token authenticates nobody, and
the person's roles are their bindings *now* (``Grants``: per tenant and on the platform), so a
revoke takes effect on the next request.
No environment variable or file grants a token or a role.

Roles are ordered: viewer < deployer < approver < admin, each including the ones below it
(``lifecycle.approval.Role``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agents.handlers import access
from agents.ports import Services
from database.access import default_scope
from lifecycle.approval import ROLE_NAMES, Role, parse_role
from lifecycle.tenants import DEFAULT_TENANT, Grants

__all__ = ["ROLE_NAMES", "ApiUser", "Authenticator", "DbAuthenticator", "Role", "parse_role"]


@dataclass(frozen=True, init=False)
class ApiUser:
    """The person a token stands for: the actor of every request made with it, with their
    ``Grants`` (roles per tenant and on the platform). Empty grants when every role they held
    was revoked (the token still says who, but allows nothing).

    ``ApiUser(name, role)`` with one ``Role`` (or None) is read as that role where a binding
    made without a scope lands (``database.access.default_scope``): what a role meant before
    tenants, for callers that know only one role."""

    name: str
    grants: Grants

    def __init__(self, name: str, grants: Grants | Role | None) -> None:
        if not isinstance(grants, Grants):
            held = [] if grants is None else [(default_scope(grants), grants)]
            grants = Grants.of(name, held)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "grants", grants)

    @property
    def role(self) -> Role | None:
        """The role that counts in the default tenant (a platform role counts there too)."""
        return self.grants.role_in(DEFAULT_TENANT)

    def may(self, needed: Role, tenant: str = DEFAULT_TENANT) -> bool:
        """Whether this user holds ``needed`` or above in ``tenant``."""
        return self.grants.may(needed, tenant)

    def may_somewhere(self, needed: Role) -> bool:
        """Whether this user holds ``needed`` or above in some tenant (the routes' first gate)."""
        return self.grants.may_somewhere(needed)

    @property
    def role_label(self) -> str:
        """The highest role held anywhere, as messages name it (``no`` when none is held)."""
        best = max(self.grants.roles.values(), default=None)
        return "no" if best is None else best.label

    def scopes(self) -> dict[str, str]:
        """Scope (a tenant or ``*``) -> the role held there, for ``/v1/whoami``."""
        return {scope: role.label for scope, role in sorted(self.grants.roles.items())}


class Authenticator(Protocol):
    """What turns a bearer token into a person: ``app.state.authenticator``. Any part of the app
    (a route dependency, a middleware) asks it, so there is one way to authenticate."""

    def authenticate(self, token: str) -> ApiUser | None: ...


class DbAuthenticator:
    """Tokens and roles from the state database of ``services``, read on every call."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def authenticate(self, token: str) -> ApiUser | None:
        """The token's owner with their grants now, or None (unknown, revoked, empty)."""
        found = access.authenticate(self.services, token)
        return None if found is None else ApiUser(*found)
