"""Per-tenant quotas (issue 19 item 3): set, show and clear a tenant's limits, and the early
refusal of a deploy over its quota.

Setting and clearing are a platform admin's acts (``access.require_admin`` at ``*``, read in
the writing unit of work; a quota is of an existing tenant), audited (``quota_set``,
``quota_cleared``). The authoritative check is where the deployment row is written, under the
tenant's lock (``uow.quotas.admit``: the deploy node's ``plan_deploy`` write,
``serving.start_endpoint``); ``refuse_over_quota`` is the early one, run before any lock,
thread, package or row (``operations.check_resources``), so a plain deploy over quota is
refused at once. A rollback is never refused by a quota: it puts back what ran before.
"""

from __future__ import annotations

from typing import Any

from agents.commands import Deploy
from agents.handlers.access import require_admin
from agents.ports import Services
from database.models_quotas import TenantQuotaRow
from database.protocols import UnitOfWork
from lifecycle.errors import BadInputError
from lifecycle.quotas import Quota, check_quota, demand, quota_figures, quota_from_text
from lifecycle.records import utcnow
from lifecycle.resource_asks import asked_resources
from lifecycle.resources import Resources
from lifecycle.tenants import PLATFORM, Grants, UnknownTenantError, check_tenant, tenant_of


def set_quota(
    c: Services,
    actor: str,
    tenant: str,
    deployments: int | None = None,
    replicas: int | None = None,
    cpu: str | None = None,
    memory: str | None = None,
    capture_rows: int | None = None,
) -> dict[str, Any]:
    """Make these figures ``tenant``'s quota (replacing any; an omitted figure is unlimited,
    and a quota without a figure limits nothing). An admin's act; bad figures change nothing.
    What runs already is never stopped: a quota below it refuses only what would grow it."""
    tenant = check_tenant(tenant)
    quota = quota_from_text(deployments, replicas, cpu, memory, capture_rows)
    with c.uow() as uow:
        require_admin(uow, actor, "set quotas", PLATFORM)
        if uow.access.tenant(tenant) is None:
            raise UnknownTenantError(f"no tenant named {tenant!r}")
        row = uow.quotas.set(tenant, quota, actor, utcnow())
        uow.audit.append(actor, "quota_set", tenant, {"tenant": tenant, **quota.to_columns()})
        shown = _shown(uow, tenant, row)
        uow.commit()
    return shown


def clear_quota(c: Services, actor: str, tenant: str) -> dict[str, Any]:
    """Lift every limit of ``tenant`` (an admin's act); clearing no quota changes nothing."""
    tenant = check_tenant(tenant)
    with c.uow() as uow:
        require_admin(uow, actor, "clear quotas", PLATFORM)
        cleared = uow.quotas.clear(tenant)
        if cleared:
            uow.audit.append(actor, "quota_cleared", tenant, {"tenant": tenant})
            uow.commit()
    return {"tenant": tenant, "changed": cleared, "by": actor}


def show_quota(
    c: Services, tenant: str | None = None, reader: Grants | None = None
) -> list[dict[str, Any]]:
    """Used and allowed per figure: ``tenant``'s, or every tenant's that has a quota. A
    ``reader`` (the API's caller) sees only tenants they hold a role in; another tenant's quota
    is refused as a tenant that does not exist (None: the local operator, who sees all)."""
    with c.reader() as uow:
        if tenant is not None:
            tenant = check_tenant(tenant)
            if reader is not None and reader.role_in(tenant) is None:
                raise UnknownTenantError(f"no tenant named {tenant!r}")
            return [_shown(uow, tenant, uow.quotas.row(tenant))]
        rows = [r for r in uow.quotas.all() if reader is None or reader.role_in(r.tenant)]
        return [_shown(uow, row.tenant, row) for row in rows]


def _shown(uow: UnitOfWork, tenant: str, row: TenantQuotaRow | None) -> dict[str, Any]:
    quota = None if row is None else row.quota()
    return {
        "tenant": tenant,
        "figures": quota_figures(quota, uow.quotas.usage_of(tenant)),
        "set_by": None if row is None else row.set_by,
        "set_at": None if row is None else row.set_at,
    }


def refuse_over_quota(c: Services, command: Deploy) -> None:
    """The early refusal of a deploy over its tenant's quota (``QuotaExceededError``), read
    before anything is written. A share change of a rollout in flight (``traffic`` given) adds
    no deployment and is left to the deploy node, which judges whether it adds one; so are
    unknown models and malformed figures (refused as every such deploy is)."""
    if command.traffic is not None:
        return
    try:
        asked = asked_resources(command.replicas, command.cpu, command.memory, command.autoscale)
    except BadInputError:
        return
    check_early(c, command.model_name, asked)


def check_early(c: Services, model_name: str, asked: Resources) -> None:
    """``QuotaExceededError`` when one more deployment of ``model_name`` asking ``asked``
    does not fit its tenant's quota as it reads now (a known model only: an unknown or
    malformed name is left to what refuses it everywhere)."""
    try:
        tenant = tenant_of(model_name)
    except BadInputError:
        return
    with c.reader() as uow:
        quota: Quota | None = uow.quotas.get(tenant)
        if quota is None or quota.unlimited:
            return
        if model_name not in uow.models.list_model_names():
            return
        check_quota(quota, uow.quotas.usage_of(tenant, capture=False), demand(asked), tenant)
