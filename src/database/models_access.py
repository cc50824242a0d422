"""The access tables: tenants, who holds which role where, and the per-person API tokens (stored
hashed).

They use ``database.base.Base`` and are imported at the end of ``models.py``, so every user of the
mapping's metadata (the migrations, ``create_all`` in tests) sees them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base
from lifecycle.records import utcnow
from lifecycle.tenants import DEFAULT_TENANT


class TenantRow(Base):
    """``tenants``: the teams on the platform (``lifecycle.tenants``). ``default`` always exists:
    it owns every bare model name."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoleBindingRow(Base):
    """``access_bindings``: one role held by one person in one tenant (or on the whole platform,
    ``tenant`` = ``*``), granted by an admin."""

    __tablename__ = "access_bindings"
    __table_args__ = (UniqueConstraint("user_name", "role", "tenant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(20))
    tenant: Mapped[str] = mapped_column(String(40), default=DEFAULT_TENANT, index=True)
    granted_by: Mapped[str] = mapped_column(String(100))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiTokenRow(Base):
    """``access_tokens``: a person's API token. Only its SHA-256 is kept; the token itself is
    shown once, when it is made. A revoked token stays, with ``revoked_at``, for the record."""

    __tablename__ = "access_tokens"

    token_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
