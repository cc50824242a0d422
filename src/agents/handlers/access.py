"""Who may do what: granting and revoking roles, and per-person API tokens.

Every change here is an admin's: the acting admin is read inside the writing unit of work, so a
revoke that lands first is seen. Roles are bound in a tenant (``--tenant T``) or on the
platform (``--platform``); without either, ``database.access.default_scope`` (admin: the
platform, any other role: the default tenant). A tenant's admin grants and revokes in their
tenant only; platform roles are a platform admin's. The last platform admin cannot lose the
role (nobody could grant it back). Every grant, revoke and token creation or revocation is
written to the audit chain with the token's id, never the token. A token is shown once, by
``create_token``; only its SHA-256 is stored (``database.access``).

``authenticate`` is how the ops API (and anything else that carries a token) learns who calls:
the token's owner and their ``Grants`` (roles per tenant), read on each call, so a revoke takes
effect at once.
"""

from __future__ import annotations

import re
from typing import Any

from agents.ports import Services
from database.access import default_scope
from database.protocols import UnitOfWork
from lifecycle.approval import Role, parse_role
from lifecycle.errors import BadInputError, PermissionDeniedError
from lifecycle.tenants import DEFAULT_TENANT, PLATFORM, Grants, UnknownTenantError, check_tenant

USER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,99}")
"""A person's name as an OS account or an e-mail-like login: 1-100 characters, no spaces."""


def check_user_name(user: str) -> str:
    """``user`` when it can name a person; BadInputError otherwise."""
    if not USER_NAME.fullmatch(user):
        raise BadInputError(
            f"{user!r} is not a user name (letters, digits and _ . @ + -, at most 100)"
        )
    return user


def require_admin(uow: UnitOfWork, actor: str, what: str, tenant: str = DEFAULT_TENANT) -> None:
    """PermissionDeniedError unless ``actor`` holds the admin role in ``tenant`` now (a platform
    admin does in every tenant; ``*``: only a platform admin)."""
    grants = uow.access.grants_of(actor)
    allowed = grants.is_platform_admin if tenant == PLATFORM else grants.may(Role.ADMIN, tenant)
    if not allowed:
        where = "the platform" if tenant == PLATFORM else f"tenant {tenant!r}"
        raise PermissionDeniedError(f"{actor} is not an admin of {where}; only one may {what}")


def scope_of(role: Role, tenant: str | None, platform: bool) -> str:
    """The scope a grant or revoke names: ``*`` with ``platform``, else ``tenant``, else the
    role's ``default_scope``; BadInputError for both at once or an invalid tenant name."""
    if platform and tenant is not None:
        raise BadInputError("name a tenant or the platform, not both")
    if platform:
        return PLATFORM
    return default_scope(role) if tenant is None else check_tenant(tenant)


def _scoped(result: dict[str, Any], scope: str) -> dict[str, Any]:
    return {**result, "tenant": scope}


def grant(
    c: Services,
    actor: str,
    user: str,
    role_text: str,
    tenant: str | None = None,
    platform: bool = False,
) -> dict[str, Any]:
    """Bind a role to a person in a tenant or on the platform (an admin's act there);
    granting a held role changes nothing."""
    role, user = parse_role(role_text), check_user_name(user)
    scope = scope_of(role, tenant, platform)
    with c.uow() as uow:
        require_admin(uow, actor, "grant roles there", scope)
        if scope not in (PLATFORM, DEFAULT_TENANT) and uow.access.tenant(scope) is None:
            raise UnknownTenantError(f"no tenant {scope!r}")
        granted = uow.access.grant(user, role, actor, scope)
        if granted:
            uow.audit.append(actor, "access_granted", user, {"role": role.label, "tenant": scope})
            uow.commit()
    return _scoped({"user": user, "role": role.label, "changed": granted, "by": actor}, scope)


def revoke(
    c: Services,
    actor: str,
    user: str,
    role_text: str,
    tenant: str | None = None,
    platform: bool = False,
) -> dict[str, Any]:
    """Remove a role from a person in a tenant or on the platform (an admin's act there); the
    last platform admin keeps theirs."""
    role, user = parse_role(role_text), check_user_name(user)
    scope = scope_of(role, tenant, platform)
    with c.uow() as uow:
        require_admin(uow, actor, "revoke roles there", scope)
        if role is Role.ADMIN and scope == PLATFORM and platform_admins(uow) == {user}:
            raise PermissionDeniedError(
                f"{user} is the last platform admin; grant admin to someone else before revoking it"
            )
        revoked = uow.access.revoke(user, role, scope)
        if revoked:
            uow.audit.append(actor, "access_revoked", user, {"role": role.label, "tenant": scope})
            uow.commit()
    return _scoped({"user": user, "role": role.label, "changed": revoked, "by": actor}, scope)


def platform_admins(uow: UnitOfWork) -> frozenset[str]:
    """The people bound admin on the platform."""
    return frozenset(
        b.user_name
        for b in uow.access.bindings()
        if b.tenant == PLATFORM and b.role == Role.ADMIN.label
    )


def create_token(c: Services, actor: str, owner: str) -> dict[str, Any]:
    """A new API token for ``owner`` (who must hold a role); the result holds the token, the
    only time it is ever shown."""
    owner = check_user_name(owner)
    with c.uow() as uow:
        _require_admin_of(uow, actor, owner, "create API tokens for them")
        if not uow.access.grants_of(owner).roles:
            raise BadInputError(
                f"{owner} holds no role; grant one first (deployer access grant {owner} ROLE)"
            )
        row, token = uow.access.add_token(owner, actor)
        uow.audit.append(actor, "token_created", owner, {"token_id": row.token_id})
        uow.commit()
        return {"token_id": row.token_id, "owner": owner, "token": token, "by": actor}


def revoke_token(c: Services, actor: str, token_id: str) -> dict[str, Any]:
    """Revoke a token by its id (an admin's act); at once, for every later request."""
    with c.uow() as uow:
        if not uow.access.grants_of(actor).may_somewhere(Role.ADMIN):  # before the lookup
            raise PermissionDeniedError(f"{actor} is not an admin; only one may revoke API tokens")
        row = uow.access.get_token(token_id)
        _require_admin_of(uow, actor, row.owner, "revoke their API tokens")
        changed = row.revoked_at is None
        if changed:
            uow.access.revoke_token(token_id)
            uow.audit.append(actor, "token_revoked", row.owner, {"token_id": token_id})
            uow.commit()
        return {"token_id": token_id, "owner": row.owner, "changed": changed, "by": actor}


def _require_admin_of(uow: UnitOfWork, actor: str, owner: str, what: str) -> None:
    """PermissionDeniedError unless ``actor`` is a platform admin, or an admin of a tenant
    ``owner`` holds a role in (a tenant's admin issues tokens to their tenant's people)."""
    mine = uow.access.grants_of(actor)
    theirs = uow.access.grants_of(owner)
    if mine.is_platform_admin or any(
        mine.may(Role.ADMIN, t) for t in theirs.roles if t != PLATFORM
    ):
        return
    raise PermissionDeniedError(
        f"{actor} is not an admin of {owner}'s tenants; only one may {what}"
    )


def list_access(c: Services) -> dict[str, Any]:
    """Every role binding (with its scope: a tenant or ``*``, the platform) and every token's
    id, owner and state; never a token."""
    with c.reader() as uow:
        bindings = [
            {
                "user": b.user_name,
                "role": b.role,
                "tenant": b.tenant,
                "granted_by": b.granted_by,
                "granted_at": b.granted_at,
            }
            for b in uow.access.bindings()
        ]
        tokens = [
            {
                "token_id": t.token_id,
                "owner": t.owner,
                "created_by": t.created_by,
                "created_at": t.created_at,
                "revoked_at": t.revoked_at,
            }
            for t in uow.access.tokens()
        ]
    return {"bindings": bindings, "tokens": tokens}


def ensure_first_admin(c: Services, user: str) -> bool:
    """Make ``user`` the platform admin when nobody is one (``deployer init``); True when it
    did."""
    with c.uow() as uow:
        if platform_admins(uow):
            return False
        uow.access.grant(user, Role.ADMIN, user)
        uow.audit.append(user, "access_granted", user, {"role": "admin", "first_admin": True})
        uow.commit()
    return True


def authenticate(c: Services, token: str) -> tuple[str, Grants] | None:
    """The owner of an unrevoked ``token`` and their ``Grants`` now (empty: no role left), or
    None when the token is unknown, revoked or empty."""
    if not token:
        return None
    with c.reader() as uow:
        owner = uow.access.owner_of(token)
        if owner is None:
            return None
        return owner, uow.access.grants_of(owner)
