"""Tenants: whose a model is, the name forms that carry it, and who may do what in which tenant.

A tenant is a team on the platform. Every model belongs to exactly one tenant, and the tenant is
part of the model's name: ``team-a/fraud`` is the model ``fraud`` of ``team-a``, a different
model from ``team-b/fraud``. A bare name (``iris``) is a model of the ``default`` tenant, so every
name written before tenants existed keeps meaning what it meant (``default/iris`` is read as
``iris``: one model has one name). Because the tenant is in the name, every row keyed by a model
name (stages, deployments, rollouts, routes, captures, alerts) is already per tenant.

Names have two forms:

- the *qualified* name, ``team-a/fraud``, which people, the CLI, the API paths
  (``/v1/models/team-a/fraud``) and the gateway's prediction routes
  (``/v1/models/team-a/fraud/predict``) use, and which the state database stores;
- the *flat* name, ``team-a~fraud``, for places that refuse ``/``: MLflow's registered model
  names (MLflow refuses ``/`` and ``:`` in them) and deployment ids. ``~`` is in neither the
  tenant alphabet nor the model-name alphabet, so the flat form reads back to one qualified name.

Roles are bound per tenant (``viewer`` of ``team-a``), or on the whole platform (scope ``*``):
a platform admin administers every tenant and creates and deletes tenants. A person's
``Grants`` are their bindings; every check asks ``Grants.role_in(tenant)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from lifecycle.approval import Role
from lifecycle.errors import (
    BadInputError,
    ConflictError,
    PermissionDeniedError,
    UnknownModelError,
)
from lifecycle.names import MODEL_NAME_PATTERN

DEFAULT_TENANT = "default"
"""The tenant of every bare model name; it always exists and cannot be deleted."""

PLATFORM = "*"
"""The scope of a platform-wide binding (a platform admin is ``admin`` at ``*``)."""

TENANT_PATTERN = r"[a-z](?:[a-z0-9\-]{0,30}[a-z0-9])?"
"""A lower-case letter, then lower-case letters, digits and ``-``, not ending in ``-``; at most
32 characters. Matched whole."""

TENANT_MAX = 32

FLAT_SEPARATOR = "~"
"""Joins tenant and name in the flat form (MLflow names, deployment ids)."""

QUALIFIED_NAME_PATTERN = rf"(?:{TENANT_PATTERN}/)?{MODEL_NAME_PATTERN}"
"""A model name with an optional ``tenant/`` in front; matched whole."""

T = TypeVar("T")


class UnknownTenantError(UnknownModelError):
    """No tenant by that name: a model of it cannot be registered; it cannot be deleted."""


class TenantNotEmptyError(ConflictError):
    """A tenant that still has registered models cannot be deleted."""


_TENANT = re.compile(TENANT_PATTERN)
_QUALIFIED = re.compile(rf"(?:(?P<tenant>{TENANT_PATTERN})/)?(?P<name>{MODEL_NAME_PATTERN})")


def check_tenant(name: str) -> str:
    """``name`` when it is a valid tenant name; BadInputError otherwise."""
    if _TENANT.fullmatch(name) is None:
        raise BadInputError(
            f"invalid tenant name {name!r}: a lower-case letter, then lower-case letters, "
            f"digits and '-' (not at the end); at most {TENANT_MAX} characters"
        )
    return name


@dataclass(frozen=True)
class ModelRef:
    """A model's tenant and its name inside the tenant."""

    tenant: str
    name: str

    @property
    def qualified(self) -> str:
        """``team-a/fraud``; a default-tenant model's is its bare name."""
        return qualify(self.tenant, self.name)

    @property
    def flat(self) -> str:
        """``team-a~fraud``; a default-tenant model's is its bare name."""
        return (
            self.name
            if self.tenant == DEFAULT_TENANT
            else f"{self.tenant}{FLAT_SEPARATOR}{self.name}"
        )


def parse_model_name(text: str) -> ModelRef:
    """``team-a/fraud`` -> (team-a, fraud); ``iris`` and ``default/iris`` -> (default, iris).
    BadInputError when ``text`` is not, whole, a (qualified) model name."""
    found = _QUALIFIED.fullmatch(text)
    if found is None:
        raise BadInputError(
            f"invalid model name {text!r}: [TENANT/]NAME, where NAME starts with a letter, then "
            "letters, digits, '_', '.', '-' (at most 100), and TENANT is lower-case letters, "
            "digits and '-'"
        )
    return ModelRef(found["tenant"] or DEFAULT_TENANT, found["name"])


def same_tenant(model_name: str, names: Iterable[str]) -> list[str]:
    """Of ``names``, those in ``model_name``'s tenant: look-alike names are judged within a
    tenant (``team-a/Fraud`` does not clash with ``team-b/fraud``). Invalid names are kept, so
    a malformed one is still compared (and refused) where it was before."""
    tenant = tenant_of(model_name)

    def in_tenant(name: str) -> bool:
        found = _QUALIFIED.fullmatch(name)
        return found is None or (found["tenant"] or DEFAULT_TENANT) == tenant

    return [n for n in names if in_tenant(n)]


def is_qualified_name(text: str) -> bool:
    """Whether ``text`` is, whole, a (qualified) model name."""
    return _QUALIFIED.fullmatch(text) is not None


def qualify(tenant: str, name: str) -> str:
    """The qualified name of model ``name`` in ``tenant`` (the bare name in the default one)."""
    return name if tenant == DEFAULT_TENANT else f"{tenant}/{name}"


def normalise_model_name(text: str) -> str:
    """The one stored form of a model name: ``default/iris`` -> ``iris``; BadInputError when
    invalid."""
    return parse_model_name(text).qualified


def tenant_of(model_name: str) -> str:
    """The tenant of a stored (qualified) model name; BadInputError when invalid."""
    return parse_model_name(model_name).tenant


def flat_name(model_name: str) -> str:
    """The flat form of a qualified name (``team-a/fraud`` -> ``team-a~fraud``), for MLflow's
    registered model names and for deployment ids."""
    return parse_model_name(model_name).flat


def from_flat_name(flat: str) -> str:
    """The qualified name of a flat one (``team-a~fraud`` -> ``team-a/fraud``; ``iris`` ->
    ``iris``); BadInputError when it is not one."""
    tenant, sep, name = flat.partition(FLAT_SEPARATOR)
    text = f"{tenant}/{name}" if sep else flat
    return normalise_model_name(text)


@dataclass(frozen=True)
class Grants:
    """A person's role bindings: tenant (or ``*``) -> their highest role there."""

    user: str
    roles: Mapping[str, Role] = field(default_factory=dict)

    @classmethod
    def of(cls, user: str, bindings: Iterable[tuple[str, Role]]) -> Grants:
        """From (tenant or ``*``, role) pairs; the highest role per scope counts."""
        best: dict[str, Role] = {}
        for scope, role in bindings:
            best[scope] = max(role, best.get(scope, role))
        return cls(user, best)

    @property
    def platform_role(self) -> Role | None:
        """The role bound on the whole platform, or None."""
        return self.roles.get(PLATFORM)

    @property
    def is_platform_admin(self) -> bool:
        """Whether this person administers the platform (every tenant, and tenants themselves)."""
        return self.platform_role is Role.ADMIN

    def role_in(self, tenant: str) -> Role | None:
        """The role this person holds in ``tenant``: the higher of the tenant's binding and the
        platform's; None when neither."""
        held = [r for r in (self.roles.get(tenant), self.platform_role) if r is not None]
        return max(held, default=None)

    def may(self, needed: Role, tenant: str) -> bool:
        """Whether this person holds ``needed`` or above in ``tenant``."""
        role = self.role_in(tenant)
        return role is not None and role >= needed

    def may_somewhere(self, needed: Role) -> bool:
        """Whether this person holds ``needed`` or above in at least one tenant (or the
        platform): the first gate of a route whose tenant is known only from its body."""
        return any(role >= needed for role in self.roles.values())

    def tenants(self, needed: Role, known: Iterable[str]) -> frozenset[str]:
        """Of the ``known`` tenants, those where this person holds ``needed`` or above."""
        return frozenset(t for t in known if self.may(needed, t))

    def sees(self, model_name: str) -> bool:
        """Whether this person may read the model ``model_name`` (viewer or above in its
        tenant)."""
        return self.may(Role.VIEWER, tenant_of(model_name))

    def visible(self, items: Iterable[T], model_of: Callable[[T], str]) -> list[T]:
        """The ``items`` whose model (``model_of(item)``) this person may read, in order: how
        every list (status, history, alerts, approvals, audit export, the dashboard) is cut to
        the reader's tenants."""
        return [item for item in items if self.sees(model_of(item))]

    def check(self, needed: Role, model_name: str, what: str) -> None:
        """PermissionDeniedError unless this person holds ``needed`` in the model's tenant.

        The message names the tenant but says nothing about whether the model exists there, so
        a refusal does not tell an outsider which models another tenant has."""
        tenant = tenant_of(model_name)
        if not self.may(needed, tenant):
            held = self.role_in(tenant)
            has = "no role" if held is None else f"the {held.label} role"
            raise PermissionDeniedError(
                f"{self.user} holds {has} in tenant {tenant!r}; {what} needs {needed.label} "
                "or above there"
            )
