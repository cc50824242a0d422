"""Leases: a named lock with an expiry, held in the state database.

Two watchers on one database must never tick at once. A lease works the same on SQLite and
PostgreSQL: the row is read ``FOR UPDATE`` (SQLite's BEGIN IMMEDIATE serialises writers anyway),
taken when it is free, expired or already ours, and renewed by every tick of its holder. A holder
that dies without releasing it loses it when it expires; one that stops releases it at once.
Expiry is judged by the ``clock`` given (the system's UTC time when none is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from database.engine import read_session
from database.models import LeaseRow
from lifecycle.ports import Clock
from lifecycle.records import utcnow


@dataclass(frozen=True)
class LeaseState:
    """Who holds a lease and until when (``held`` says whether the asker got it)."""

    held: bool
    holder: str
    expires_at: datetime


def _now(clock: Clock | None) -> datetime:
    return clock.now() if clock is not None else utcnow()


def acquire(
    factory: sessionmaker[Session],
    name: str,
    holder: str,
    ttl_seconds: float,
    clock: Clock | None = None,
) -> LeaseState:
    """Take or renew the lease ``name`` for ``holder``; say who holds it when it is taken."""
    now = _now(clock)
    until = now + timedelta(seconds=ttl_seconds)
    try:
        with factory() as session:
            row = session.get(LeaseRow, name, with_for_update=True)
            if row is None:
                session.add(LeaseRow(name=name, holder=holder, acquired_at=now, expires_at=until))
            elif row.holder == holder or row.expires_at <= now:
                if row.holder != holder:
                    row.holder, row.acquired_at = holder, now
                row.expires_at = until
            else:
                return LeaseState(False, row.holder, row.expires_at)
            session.commit()
    except IntegrityError:  # another holder inserted it first
        other = current(factory, name, clock)
        return LeaseState(False, other.holder if other else "", other.expires_at if other else now)
    return LeaseState(True, holder, until)


def release(factory: sessionmaker[Session], name: str, holder: str) -> None:
    """Give the lease up at once, if ``holder`` still holds it."""
    with factory() as session:
        row = session.get(LeaseRow, name, with_for_update=True)
        if row is not None and row.holder == holder:
            session.delete(row)
            session.commit()


def current(
    factory: sessionmaker[Session], name: str, clock: Clock | None = None
) -> LeaseState | None:
    """Who holds ``name`` now (None: nobody ever took it or it was released)."""
    with read_session(factory) as session:
        row = session.get(LeaseRow, name)
        if row is None:
            return None
        return LeaseState(row.expires_at > _now(clock), row.holder, row.expires_at)
