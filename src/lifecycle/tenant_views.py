"""What of the platform-wide records a person may read, by tenant (issue 19 item 2): the audit
events and the alerts the dashboard and the alert commands list, and which alert channels a
model's alert goes to. Pure; ``lifecycle.tenants.Grants`` is the reader.

- An audit event belongs to the model it is about: its payload's ``model_name`` when it has one,
  else its subject when that is a model name (``team-a/fraud``) or a model version's id
  (``team-a/fraud/3``), and that model is registered. An event that names no model (a role
  granted, a tenant created, a gateway's admin change by deployment id) is the platform's:
  only platform admins read it.
- An alert belongs to its model's tenant; one without a model (the audit chain's check, a lease
  lost) is the platform's.
- A channel with a tenant takes only that tenant's models' alerts; a channel without one (the
  platform's, as every channel was before tenants) takes every alert.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from lifecycle.approval import Role
from lifecycle.errors import BadInputError
from lifecycle.tenants import DEFAULT_TENANT, Grants, normalise_model_name, tenant_of


def _model(text: str) -> str | None:
    try:
        return normalise_model_name(text)
    except BadInputError:
        return None


def event_model(subject: str, payload: Mapping[str, Any], known: Collection[str]) -> str | None:
    """The model an audit event is about, among the ``known`` (registered) ones, or None (the
    platform's: a subject that only looks like a model name, a user's, is not a model's)."""
    named = payload.get("model_name")
    if isinstance(named, str) and named:
        found = _model(named)
    else:
        head, sep, version = subject.rpartition("/")
        found = _model(head if sep and version.isdigit() else subject)
    return found if found in known else None


def sees_event(
    grants: Grants, subject: str, payload: Mapping[str, Any], known: Collection[str]
) -> bool:
    """Whether ``grants`` may read this audit event (``known``: the registered models)."""
    if grants.is_platform_admin:
        return True
    model = event_model(subject, payload, known)
    return model is not None and grants.sees(model)


def sees_alert(grants: Grants, model_name: str) -> bool:
    """Whether ``grants`` may read an alert about ``model_name`` ("" = the platform's)."""
    if grants.is_platform_admin:
        return True
    return bool(model_name) and _model(model_name) is not None and grants.sees(model_name)


def local_reader(grants: Grants) -> Grants:
    """How a person reads on the paths a home's own users take without a token (the chat, the
    local CLI): with their grants; a person who holds no role anywhere reads as a viewer of the
    default tenant, as every local user read a home before tenants (they can open its files).
    No tenant's models are ever readable without a role in that tenant."""
    if grants.roles:
        return grants
    return Grants(grants.user, {DEFAULT_TENANT: Role.VIEWER})


def local_actor(grants: Grants) -> Grants:
    """How a person changes models through the agent (whose API callers already passed the
    API's role gate): with their grants; a person who holds no role anywhere can only have come
    through the home's own paths (the local CLI, the chat, an upstream graph in the home's
    process), and acts as a deployer of the default tenant, as every local user did before
    tenants (those paths hold the database's credentials: no isolation boundary). Never in a
    tenant: a tenant's models need a role there. Production still needs an approver."""
    if grants.roles:
        return grants
    return Grants(grants.user, {DEFAULT_TENANT: Role.DEPLOYER})


def channel_takes(channel_tenant: str | None, model_name: str) -> bool:
    """Whether a channel of ``channel_tenant`` (None = the platform's) is told an alert about
    ``model_name`` ("" = the platform's own)."""
    if channel_tenant is None:
        return True
    if not model_name or _model(model_name) is None:
        return False
    return tenant_of(model_name) == channel_tenant


def subject_parts(subject: str) -> tuple[str, str]:
    """(model, version) of an audit subject, for its alert: ``team-a/fraud/3`` (a version's id)
    -> (team-a/fraud, 3); ``team-a/fraud`` (a tenant's model) -> (team-a/fraud, ""); ``iris``
    -> ("", "") (the caller resolves a bare subject)."""
    head, sep, tail = subject.rpartition("/")
    if not sep:
        return "", ""
    return (head, tail) if tail.isdigit() or "/" in head else (subject, "")
