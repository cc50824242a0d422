"""Leases: a named lock with an expiry and a fencing counter, held in the state database.

Two watchers on one database must never tick at once. A lease works the same on SQLite and
PostgreSQL: the row is read ``FOR UPDATE`` (SQLite's BEGIN IMMEDIATE serialises writers anyway),
taken when it is free, expired or already ours, and renewed by its holder (every tick, and in the
background while a long tick runs). Time is the database's (``db_now``), never the caller's, so
two hosts whose clocks disagree still agree on who holds it. ``fence`` grows by one with every
acquisition; a session made with ``info={FENCE_INFO: Fence(...)}`` checks, before each write,
that its fence is still the lease's current one and unexpired, and refuses the write with
``StaleFenceError`` (nothing written) when it is not: a watcher that lost its lease mid-tick
cannot write over its successor. A holder that dies loses the lease when it expires; one that
stops releases it at once (the row stays, with no holder, so the fence keeps growing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from database.engine import read_session
from database.models import LeaseRow
from lifecycle.errors import ConflictError

FENCE_INFO = "deployer_fence"
"""The ``Session.info`` entry holding a ``Fence``: the session's writes are checked against it."""
_UNFENCED = {FENCE_INFO: None}


class StaleFenceError(ConflictError):
    """A write carried the fence of a lease its writer no longer holds; nothing was written."""


@dataclass(frozen=True)
class LeaseState:
    """Who holds a lease, until when and with which fence (``held``: whether the asker got it)."""

    held: bool
    holder: str
    expires_at: datetime
    fence: int = 0


@dataclass
class Fence:
    """What a fenced session's writes must match: the lease, its holder and fence."""

    name: str
    holder: str
    token: int = 0


def db_now(session: Session) -> datetime:
    """The database's current time (UTC, aware), read in ``session``'s transaction."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        value: datetime = connection.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(UTC)
    raw = connection.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
    return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)


def acquire(
    factory: sessionmaker[Session], name: str, holder: str, ttl_seconds: float
) -> LeaseState:
    """Take or renew the lease ``name`` for ``holder``; say who holds it when it is taken."""
    try:
        with factory(info=_UNFENCED) as session:
            now = db_now(session)
            until = now + timedelta(seconds=ttl_seconds)
            row = session.get(LeaseRow, name, with_for_update=True)
            if row is None:
                row = LeaseRow(name=name, holder=holder, acquired_at=now, expires_at=until, fence=1)
                session.add(row)
            elif row.holder == holder and row.expires_at > now:
                row.expires_at = until  # a renewal keeps its fence
            elif row.holder in ("", holder) or row.expires_at <= now:
                row.holder, row.acquired_at, row.expires_at = holder, now, until
                row.fence += 1
            else:
                return LeaseState(False, row.holder, row.expires_at, row.fence)
            fence = row.fence
            session.commit()
    except IntegrityError:  # another holder inserted it first
        other = current(factory, name)
        if other is None:
            return LeaseState(False, "", datetime.now(UTC))
        return LeaseState(False, other.holder, other.expires_at, other.fence)
    return LeaseState(True, holder, until, fence)


def renew(factory: sessionmaker[Session], fence: Fence, ttl_seconds: float) -> bool:
    """Extend the lease if ``fence`` still holds it (unexpired); False when it was lost."""
    with factory(info=_UNFENCED) as session:
        now = db_now(session)
        row = session.get(LeaseRow, fence.name, with_for_update=True)
        if row is None or not _matches(row, fence, now):
            return False
        row.expires_at = now + timedelta(seconds=ttl_seconds)
        session.commit()
    return True


def release(factory: sessionmaker[Session], name: str, holder: str) -> None:
    """Give the lease up at once, if ``holder`` still holds it (its fence stays, to grow on)."""
    with factory(info=_UNFENCED) as session:
        now = db_now(session)
        row = session.get(LeaseRow, name, with_for_update=True)
        if row is not None and row.holder == holder:
            row.holder, row.expires_at = "", now
            session.commit()


def current(factory: sessionmaker[Session], name: str) -> LeaseState | None:
    """Who holds ``name`` now (None: nobody ever took it or it was released)."""
    with read_session(factory) as session:
        row = session.get(LeaseRow, name)
        if row is None or not row.holder:
            return None
        return LeaseState(row.expires_at > db_now(session), row.holder, row.expires_at, row.fence)


def _matches(row: LeaseRow | Any, fence: Fence, now: datetime) -> bool:
    expires_at = row.expires_at
    if expires_at.tzinfo is None:  # a Core read on SQLite gives naive UTC
        expires_at = expires_at.replace(tzinfo=UTC)
    return bool(row.holder == fence.holder and row.fence == fence.token and expires_at > now)


def check_fence(session: Session, fence: Fence) -> None:
    """Refuse (``StaleFenceError``) unless ``fence`` holds its lease now; on PostgreSQL the row
    stays share-locked to the end of the transaction, so no one takes the lease before it ends."""
    table = LeaseRow.__table__
    query = select(table.c.holder, table.c.fence, table.c.expires_at).where(
        table.c.name == fence.name
    )
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    row = connection.execute(query).first()
    if row is None or not _matches(row, fence, db_now(session)):
        raise StaleFenceError(
            f"the {fence.name} lease is no longer held by {fence.holder} with fence "
            f"{fence.token}: this write was refused and nothing was written"
        )


@event.listens_for(Session, "before_flush")
def _fence_flush(session: Session, _context: Any, _instances: Any) -> None:
    fence = session.info.get(FENCE_INFO)
    if fence is not None and (session.new or session.dirty or session.deleted):
        with session.no_autoflush:
            check_fence(session, fence)


@event.listens_for(Session, "do_orm_execute")
def _fence_statement(state: ORMExecuteState) -> None:
    fence = state.session.info.get(FENCE_INFO)
    if fence is not None and (state.is_insert or state.is_update or state.is_delete):
        check_fence(state.session, fence)
