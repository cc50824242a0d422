"""Tenants, role bindings and API tokens in the state database (``tenants``, ``access_bindings``,
``access_tokens``).

A binding holds a role in one tenant, or on the whole platform (scope ``*``,
``lifecycle.tenants.PLATFORM``). The methods that take a ``tenant`` read it as *the role that
counts there*: the tenant's binding or the platform's, whichever is higher
(``lifecycle.tenants.Grants``). Where a caller names no scope, ``default_scope`` keeps the
meaning bindings had before tenants: an admin is the platform's, any other role the default
tenant's.

A token is ``secrets.token_urlsafe(32)``: it is returned once, by ``add_token``, and only its
SHA-256 is stored, so reading the database never yields a usable token. ``owner_of`` finds a
token by its hash; a revoked token finds nobody. The rules (who may grant, the last admin) are
the use cases' (``agents.handlers.access``); this module only reads and writes rows.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from database.models_access import ApiTokenRow, RoleBindingRow, TenantRow
from lifecycle.approval import Role
from lifecycle.errors import UnknownModelError
from lifecycle.records import utcnow
from lifecycle.tenants import DEFAULT_TENANT, PLATFORM, Grants

TOKEN_BYTES = 32


def default_scope(role: Role) -> str:
    """Where a binding made without a scope lands: an admin on the platform, any other role in
    the default tenant (what a binding meant before tenants)."""
    return PLATFORM if role is Role.ADMIN else DEFAULT_TENANT


def token_hash(token: str) -> str:
    """The SHA-256 of a token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccessRepository:
    """Who holds which role, and the tokens that stand for them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def bindings(self, user: str | None = None) -> Sequence[RoleBindingRow]:
        """Every binding (or one person's), by person, tenant, then role."""
        query = select(RoleBindingRow).order_by(
            RoleBindingRow.user_name, RoleBindingRow.tenant, RoleBindingRow.role
        )
        if user is not None:
            query = query.where(RoleBindingRow.user_name == user)
        return self.session.scalars(query).all()

    def grants_of(self, user: str) -> Grants:
        """``user``'s roles per tenant and on the platform, as they are now."""
        return Grants.of(user, [(r.tenant, Role[r.role.upper()]) for r in self.bindings(user)])

    def roles_of(self, user: str, tenant: str = DEFAULT_TENANT) -> frozenset[Role]:
        """The roles ``user`` holds that count in ``tenant`` (its own and the platform's)."""
        return frozenset(
            Role[row.role.upper()]
            for row in self.bindings(user)
            if row.tenant in (tenant, PLATFORM)
        )

    def highest_role(self, user: str, tenant: str = DEFAULT_TENANT) -> Role | None:
        """The strongest role ``user`` holds in ``tenant`` (or on the platform), or None."""
        return self.grants_of(user).role_in(tenant)

    def holders(self, at_least: Role, tenant: str = DEFAULT_TENANT) -> frozenset[str]:
        """The people holding ``at_least`` or a higher role in ``tenant`` (or on the platform)."""
        return frozenset(
            r.user_name
            for r in self.bindings()
            if r.tenant in (tenant, PLATFORM) and Role[r.role.upper()] >= at_least
        )

    def grant(self, user: str, role: Role, by: str, tenant: str | None = None) -> bool:
        """Bind ``role`` to ``user`` in ``tenant`` (``*``: the platform; None:
        ``default_scope``); False (and nothing written) when that binding exists already."""
        scope = default_scope(role) if tenant is None else tenant
        if any(r.role == role.label and r.tenant == scope for r in self.bindings(user)):
            return False
        self.session.add(
            RoleBindingRow(user_name=user, role=role.label, tenant=scope, granted_by=by)
        )
        self.session.flush()
        return True

    def revoke(self, user: str, role: Role, tenant: str | None = None) -> bool:
        """Remove the binding of ``role`` in ``tenant`` (None: ``default_scope``); False when
        ``user`` did not hold it there."""
        scope = default_scope(role) if tenant is None else tenant
        rows = [r for r in self.bindings(user) if r.role == role.label and r.tenant == scope]
        for row in rows:
            self.session.delete(row)
        self.session.flush()
        return bool(rows)

    def revoke_tenant(self, tenant: str) -> int:
        """Remove every binding in ``tenant`` (the tenant is being deleted); how many."""
        rows = [r for r in self.bindings() if r.tenant == tenant]
        for row in rows:
            self.session.delete(row)
        self.session.flush()
        return len(rows)

    def tenants(self) -> Sequence[TenantRow]:
        """Every tenant, by name."""
        return self.session.scalars(select(TenantRow).order_by(TenantRow.name)).all()

    def tenant(self, name: str) -> TenantRow | None:
        """The tenant called ``name``, or None."""
        return self.session.get(TenantRow, name)

    def add_tenant(self, name: str, by: str) -> bool:
        """Make tenant ``name``; False (nothing written) when it exists."""
        if self.tenant(name) is not None:
            return False
        self.session.add(TenantRow(name=name, created_by=by))
        self.session.flush()
        return True

    def remove_tenant(self, name: str) -> bool:
        """Delete tenant ``name``'s row (the use case checks it is empty first); False when there
        is none."""
        row = self.tenant(name)
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True

    def add_token(self, owner: str, by: str) -> tuple[ApiTokenRow, str]:
        """A new token for ``owner``: its row (hash only) and the token, to show once."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        row = ApiTokenRow(
            token_id=f"tok-{secrets.token_hex(6)}",
            token_sha256=token_hash(token),
            owner=owner,
            created_by=by,
        )
        self.session.add(row)
        self.session.flush()
        return row, token

    def tokens(self, owner: str | None = None) -> Sequence[ApiTokenRow]:
        """Token rows (never tokens), oldest first."""
        query = select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.token_id)
        if owner is not None:
            query = query.where(ApiTokenRow.owner == owner)
        return self.session.scalars(query).all()

    def get_token(self, token_id: str) -> ApiTokenRow:
        """The token row by id; UnknownModelError (exit 2) when there is none."""
        row = self.session.get(ApiTokenRow, token_id)
        if row is None:
            raise UnknownModelError(f"no API token with id {token_id!r}")
        return row

    def revoke_token(self, token_id: str, now: datetime | None = None) -> ApiTokenRow:
        """Mark the token revoked (once: a second revoke keeps the first time)."""
        row = self.get_token(token_id)
        if row.revoked_at is None:
            row.revoked_at = now or utcnow()
            self.session.flush()
        return row

    def owner_of(self, token: str) -> str | None:
        """Who an unrevoked token belongs to, found by its hash; None for any other text."""
        row = self.session.scalars(
            select(ApiTokenRow).where(ApiTokenRow.token_sha256 == token_hash(token))
        ).first()
        if row is None or row.revoked_at is not None:
            return None
        return row.owner
