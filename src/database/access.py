"""Role bindings and API tokens in the state database (``access_bindings``, ``access_tokens``).

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

from database.models_access import ApiTokenRow, RoleBindingRow
from lifecycle.approval import Role
from lifecycle.errors import UnknownModelError
from lifecycle.records import utcnow

TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    """The SHA-256 of a token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccessRepository:
    """Who holds which role, and the tokens that stand for them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def bindings(self, user: str | None = None) -> Sequence[RoleBindingRow]:
        """Every binding (or one person's), by person then role."""
        query = select(RoleBindingRow).order_by(RoleBindingRow.user_name, RoleBindingRow.role)
        if user is not None:
            query = query.where(RoleBindingRow.user_name == user)
        return self.session.scalars(query).all()

    def roles_of(self, user: str) -> frozenset[Role]:
        """The roles ``user`` holds (none: an empty set)."""
        return frozenset(Role[row.role.upper()] for row in self.bindings(user))

    def highest_role(self, user: str) -> Role | None:
        """The strongest role ``user`` holds, or None."""
        return max(self.roles_of(user), default=None)

    def holders(self, at_least: Role) -> frozenset[str]:
        """The people holding ``at_least`` or a higher role."""
        return frozenset(r.user_name for r in self.bindings() if Role[r.role.upper()] >= at_least)

    def grant(self, user: str, role: Role, by: str) -> bool:
        """Bind ``role`` to ``user``; False (and nothing written) when it is held already."""
        if role in self.roles_of(user):
            return False
        self.session.add(RoleBindingRow(user_name=user, role=role.label, granted_by=by))
        self.session.flush()
        return True

    def revoke(self, user: str, role: Role) -> bool:
        """Remove the binding; False when ``user`` did not hold ``role``."""
        rows = [r for r in self.bindings(user) if r.role == role.label]
        for row in rows:
            self.session.delete(row)
        self.session.flush()
        return bool(rows)

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
