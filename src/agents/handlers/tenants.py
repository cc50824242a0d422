"""Tenants: the teams on the platform (issue 19). Creating and deleting one is a platform
admin's act, read inside the writing unit of work; listing them is anyone's who holds a role.

``default`` owns every bare model name and cannot be deleted. A tenant that still has
registered models is not deleted (``TenantNotEmptyError``, 409 over the API): its models would
lose their owner. Deleting an empty tenant removes its role bindings with its row. Both changes
are audited (``tenant_created``, ``tenant_deleted``).
"""

from __future__ import annotations

from typing import Any

from agents.ports import Services
from database.protocols import UnitOfWork
from lifecycle.errors import BadInputError, PermissionDeniedError
from lifecycle.tenants import (
    DEFAULT_TENANT,
    TenantNotEmptyError,
    UnknownTenantError,
    check_tenant,
    tenant_of,
)


def require_platform_admin(uow: UnitOfWork, actor: str, what: str) -> None:
    """PermissionDeniedError unless ``actor`` is a platform admin now."""
    if not uow.access.grants_of(actor).is_platform_admin:
        raise PermissionDeniedError(f"{actor} is not a platform admin; only one may {what}")


def create_tenant(c: Services, actor: str, name: str) -> dict[str, Any]:
    """Make tenant ``name``; making one that exists changes nothing."""
    name = check_tenant(name)
    with c.uow() as uow:
        require_platform_admin(uow, actor, "create tenants")
        created = uow.access.add_tenant(name, actor)
        if created:
            uow.audit.append(actor, "tenant_created", name, {})
            uow.commit()
    return {"tenant": name, "changed": created, "by": actor}


def delete_tenant(c: Services, actor: str, name: str) -> dict[str, Any]:
    """Delete the empty tenant ``name`` and its role bindings."""
    name = check_tenant(name)
    if name == DEFAULT_TENANT:
        raise BadInputError("the default tenant owns every bare model name; it cannot be deleted")
    with c.uow() as uow:
        require_platform_admin(uow, actor, "delete tenants")
        if uow.access.tenant(name) is None:
            raise UnknownTenantError(f"no tenant {name!r}")
        models = [m for m in uow.models.list_model_names() if tenant_of(m) == name]
        if models:
            raise TenantNotEmptyError(
                f"tenant {name!r} still has {len(models)} registered model(s) "
                f"({', '.join(models[:3])}{', ...' if len(models) > 3 else ''}); nothing deleted"
            )
        bindings = uow.access.revoke_tenant(name)
        uow.access.remove_tenant(name)
        uow.audit.append(actor, "tenant_deleted", name, {"bindings_removed": bindings})
        uow.commit()
    return {"tenant": name, "changed": True, "bindings_removed": bindings, "by": actor}


def list_tenants(c: Services, actor: str) -> dict[str, Any]:
    """Every tenant with its models' count and its people's count: a platform admin sees all,
    anyone else the tenants they hold a role in."""
    with c.reader() as uow:
        grants = uow.access.grants_of(actor)
        names = uow.models.list_model_names()
        people: dict[str, set[str]] = {}
        for b in uow.access.bindings():
            people.setdefault(b.tenant, set()).add(b.user_name)
        rows = [
            {
                "tenant": t.name,
                "models": sum(1 for m in names if tenant_of(m) == t.name),
                "people": len(people.get(t.name, ())),
                "created_by": t.created_by,
                "created_at": t.created_at,
            }
            for t in uow.access.tenants()
            if grants.is_platform_admin or grants.role_in(t.name) is not None
        ]
    return {"tenants": rows}
