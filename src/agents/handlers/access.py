"""Who may do what: granting and revoking roles, and per-person API tokens.

Every change here is an admin's: the acting admin is read inside the writing unit of work, so a
revoke that lands first is seen. The last admin cannot lose the role (nobody could grant it
back). Every grant, revoke and token creation or revocation is written to the audit chain with
the token's id, never the token. A token is shown once, by ``create_token``; only its SHA-256
is stored (``database.access``).

``authenticate`` is how the ops API (and anything else that carries a token) learns who calls:
the token's owner and their highest role, read on each call, so a revoke takes effect at once.
"""

from __future__ import annotations

import re
from typing import Any

from agents.ports import Services
from database.protocols import UnitOfWork
from lifecycle.approval import Role, parse_role
from lifecycle.errors import BadInputError, PermissionDeniedError

USER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,99}")
"""A person's name as an OS account or an e-mail-like login: 1-100 characters, no spaces."""


def check_user_name(user: str) -> str:
    """``user`` when it can name a person; BadInputError otherwise."""
    if not USER_NAME.fullmatch(user):
        raise BadInputError(
            f"{user!r} is not a user name (letters, digits and _ . @ + -, at most 100)"
        )
    return user


def require_admin(uow: UnitOfWork, actor: str, what: str) -> None:
    """PermissionDeniedError unless ``actor`` holds the admin role now."""
    if Role.ADMIN not in uow.access.roles_of(actor):
        raise PermissionDeniedError(f"{actor} is not an admin; only an admin may {what}")


def grant(c: Services, actor: str, user: str, role_text: str) -> dict[str, Any]:
    """Bind a role to a person (an admin's act); granting a held role changes nothing."""
    role, user = parse_role(role_text), check_user_name(user)
    with c.uow() as uow:
        require_admin(uow, actor, "grant roles")
        granted = uow.access.grant(user, role, actor)
        if granted:
            uow.audit.append(actor, "access_granted", user, {"role": role.label})
            uow.commit()
    return {"user": user, "role": role.label, "changed": granted, "by": actor}


def revoke(c: Services, actor: str, user: str, role_text: str) -> dict[str, Any]:
    """Remove a role from a person (an admin's act); the last admin keeps theirs."""
    role, user = parse_role(role_text), check_user_name(user)
    with c.uow() as uow:
        require_admin(uow, actor, "revoke roles")
        if role is Role.ADMIN and uow.access.holders(Role.ADMIN) == {user}:
            raise PermissionDeniedError(
                f"{user} is the last admin; grant admin to someone else before revoking it"
            )
        revoked = uow.access.revoke(user, role)
        if revoked:
            uow.audit.append(actor, "access_revoked", user, {"role": role.label})
            uow.commit()
    return {"user": user, "role": role.label, "changed": revoked, "by": actor}


def create_token(c: Services, actor: str, owner: str) -> dict[str, Any]:
    """A new API token for ``owner`` (who must hold a role); the result holds the token, the
    only time it is ever shown."""
    owner = check_user_name(owner)
    with c.uow() as uow:
        require_admin(uow, actor, "create API tokens")
        if not uow.access.roles_of(owner):
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
        require_admin(uow, actor, "revoke API tokens")
        row = uow.access.get_token(token_id)
        changed = row.revoked_at is None
        if changed:
            uow.access.revoke_token(token_id)
            uow.audit.append(actor, "token_revoked", row.owner, {"token_id": token_id})
            uow.commit()
        return {"token_id": token_id, "owner": row.owner, "changed": changed, "by": actor}


def list_access(c: Services) -> dict[str, Any]:
    """Every role binding and every token's id, owner and state; never a token."""
    with c.reader() as uow:
        bindings = [
            {
                "user": b.user_name,
                "role": b.role,
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
    """Make ``user`` the admin when nobody is one (``deployer init``); True when it did."""
    with c.uow() as uow:
        if uow.access.holders(Role.ADMIN):
            return False
        uow.access.grant(user, Role.ADMIN, user)
        uow.audit.append(user, "access_granted", user, {"role": "admin", "first_admin": True})
        uow.commit()
    return True


def authenticate(c: Services, token: str) -> tuple[str, Role | None] | None:
    """The owner of an unrevoked ``token`` and their highest role now (None: no role left), or
    None when the token is unknown, revoked or empty."""
    if not token:
        return None
    with c.reader() as uow:
        owner = uow.access.owner_of(token)
        if owner is None:
            return None
        return owner, uow.access.highest_role(owner)
