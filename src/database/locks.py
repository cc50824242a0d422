"""One actor per model: a lock row per model (``model_locks``), on SQLite and PostgreSQL alike.

Every flow that changes a model's deployments or routes holds its model's lock for its changing
steps: a user's deploy, promote or rollback, ``traffic set``, sync, ``endpoints stop``, ``down``
and the watcher's actions. The row is taken with the database's clock and an expiry, renewed in
the background while its holder works (``holding``), released by its holder, and taken over by
another only after it expired (its holder died). ``token`` grows with every acquisition.

``holding`` waits (bounded) for a lock another operation holds and fails with one line
(``ModelLockedError``) only if it never frees; ``try_acquire`` never waits (the watcher skips a
model whose lock is held). A thread that already holds a model's lock may enter ``holding`` for
it again (a handler calling another): the inner block neither waits nor releases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from database.among import among
from database.engine import read_session
from database.leases import FENCE_INFO, db_now
from database.models_safety import ModelLockRow
from lifecycle.errors import ConflictError

_LOCKS = ModelLockRow.metadata.tables[ModelLockRow.__tablename__]
_HELD: ContextVar[frozenset[str]] = ContextVar("deployer_model_locks", default=frozenset())
_UNFENCED = {FENCE_INFO: None}


class ModelLockedError(ConflictError):
    """Another operation kept changing the model for longer than this one would wait."""


@dataclass(frozen=True)
class LockState:
    """Who holds a model's lock, until when, with which token (``held``: the asker got it)."""

    held: bool
    holder: str
    expires_at: datetime
    token: int = 0


def try_acquire(
    factory: sessionmaker[Session], model: str, holder: str, ttl_seconds: float
) -> LockState:
    """Take ``model``'s lock for ``holder`` if it is free, expired or already its own."""
    try:
        with factory(info=_UNFENCED) as session:
            now = db_now(session)
            until = now + timedelta(seconds=ttl_seconds)
            row = session.get(ModelLockRow, model, with_for_update=True)
            if row is None:
                row = ModelLockRow(
                    model_name=model, holder=holder, token=1, acquired_at=now, expires_at=until
                )
                session.add(row)
            elif row.holder in ("", holder) or row.expires_at <= now:
                if row.holder != holder or row.expires_at <= now:
                    row.token += 1
                row.holder, row.acquired_at, row.expires_at = holder, now, until
            else:
                return LockState(False, row.holder, row.expires_at, row.token)
            token = row.token
            session.commit()
    except IntegrityError:  # another asker inserted the row first
        return LockState(False, "", datetime.now(UTC))
    return LockState(True, holder, until, token)


def renew(
    factory: sessionmaker[Session], model: str, holder: str, token: int, ttl_seconds: float
) -> bool:
    """Extend ``holder``'s lock on ``model``; False when it no longer holds it."""
    with factory(info=_UNFENCED) as session:
        now = db_now(session)
        row = session.get(ModelLockRow, model, with_for_update=True)
        if row is None or row.holder != holder or row.token != token or row.expires_at <= now:
            return False
        row.expires_at = now + timedelta(seconds=ttl_seconds)
        session.commit()
    return True


def release(factory: sessionmaker[Session], model: str, holder: str) -> None:
    """Give ``model``'s lock up at once, if ``holder`` holds it (the row stays, free)."""
    with factory(info=_UNFENCED) as session:
        now = db_now(session)
        row = session.get(ModelLockRow, model, with_for_update=True)
        if row is not None and row.holder == holder:
            row.holder, row.expires_at = "", now
            session.commit()


def holder_of(factory: sessionmaker[Session], model: str) -> LockState | None:
    """Who holds ``model``'s lock now (None: nobody)."""
    with read_session(factory) as session:
        row = session.get(ModelLockRow, model)
        if row is None or not row.holder or row.expires_at <= db_now(session):
            return None
        return LockState(True, row.holder, row.expires_at, row.token)


def held_here(model: str) -> bool:
    """Whether this thread (context) holds ``model``'s lock already."""
    return model in _HELD.get()


@contextmanager
def holding(
    factory: sessionmaker[Session],
    model: str,
    holder: str,
    ttl_seconds: float,
    wait_seconds: float,
    pause: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold ``model``'s lock for the block: wait up to ``wait_seconds`` for another holder,
    renew it in the background, release it at the end (module docstring)."""
    if held_here(model):
        yield
        return
    state = _wait_for(factory, model, holder, ttl_seconds, wait_seconds, pause)
    mark = _HELD.set(_HELD.get() | {model})
    stop = threading.Event()
    renewer = threading.Thread(
        target=_keep_renewing,
        args=(factory, model, holder, state.token, ttl_seconds, stop),
        name=f"model-lock-{model}",
        daemon=True,
    )
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        _HELD.reset(mark)
        release(factory, model, holder)


def _wait_for(
    factory: sessionmaker[Session],
    model: str,
    holder: str,
    ttl_seconds: float,
    wait_seconds: float,
    pause: Callable[[float], None],
) -> LockState:
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        state = try_acquire(factory, model, holder, ttl_seconds)
        if state.held:
            return state
        if time.monotonic() >= deadline:
            raise ModelLockedError(
                f"{model} is being changed by {state.holder or 'another operation'}; it did not "
                f"finish within {wait_seconds:g} s: nothing was changed, try again"
            )
        pause(delay)
        delay = min(delay * 2, 1.0)


def _keep_renewing(
    factory: sessionmaker[Session],
    model: str,
    holder: str,
    token: int,
    ttl_seconds: float,
    stop: threading.Event,
) -> None:
    while not stop.wait(ttl_seconds / 3):
        try:
            if not renew(factory, model, holder, token, ttl_seconds):
                return
        except Exception:  # a failed renewal (a busy database) is tried again at the next beat
            continue


# -- many models at once (the watcher's tick) ---------------------------------------------------


@dataclass(frozen=True)
class Held:
    """What ``try_acquire_many`` got: each held model's token, and who holds each other one."""

    tokens: dict[str, int]
    others: dict[str, str]


def try_acquire_many(
    factory: sessionmaker[Session], models: Collection[str], holder: str, ttl_seconds: float
) -> Held:
    """``try_acquire`` of every model in ``models`` in one transaction and a few statements
    (one read of the rows, one insert of the missing ones, one update of the taken ones),
    whatever their number; a model another holder holds is left to it (``others``)."""
    wanted = sorted(set(models))
    for _ in range(3):  # another asker inserted a missing row first: read again
        try:
            return _acquire_many(factory, wanted, holder, ttl_seconds)
        except IntegrityError:
            continue
    return Held({}, {m: "another operation" for m in wanted})


def _acquire_many(
    factory: sessionmaker[Session], wanted: list[str], holder: str, ttl_seconds: float
) -> Held:
    table = _LOCKS
    with factory(info=_UNFENCED) as session:
        if not wanted:
            return Held({}, {})
        now = db_now(session)
        until = now + timedelta(seconds=ttl_seconds)
        query = (
            select(table.c.model_name, table.c.holder, table.c.token, table.c.expires_at)
            .where(among(session, table.c.model_name, wanted))
            .with_for_update()
        )
        rows = {r.model_name: r for r in session.execute(query)}
        tokens: dict[str, int] = {}
        others: dict[str, str] = {}
        for model, row in rows.items():
            expires = row.expires_at
            if expires.tzinfo is None:  # a Core read on SQLite gives naive UTC
                expires = expires.replace(tzinfo=UTC)
            if row.holder in ("", holder) or expires <= now:
                again = row.holder == holder and expires > now
                tokens[model] = row.token if again else row.token + 1
            else:
                others[model] = row.holder
        new = [m for m in wanted if m not in rows]
        if new:
            session.execute(
                insert(table),
                [
                    {"model_name": m, "holder": holder, "token": 1, "acquired_at": now,
                     "expires_at": until}
                    for m in new
                ],
            )  # fmt: skip
        taken = [{"m": m, "t": tokens[m]} for m in tokens]
        if taken:
            session.execute(
                update(table)
                .where(table.c.model_name == bindparam("m"))
                .values(holder=holder, token=bindparam("t"), acquired_at=now, expires_at=until),
                taken,
            )
        session.commit()
    return Held({**tokens, **dict.fromkeys(new, 1)}, others)


def renew_many(
    factory: sessionmaker[Session], tokens: dict[str, int], holder: str, ttl_seconds: float
) -> None:
    """Extend ``holder``'s locks (model -> token) that it still holds, in one statement."""
    table = _LOCKS
    with factory(info=_UNFENCED) as session:
        if not tokens:
            return
        now = db_now(session)
        session.execute(
            update(table)
            .where(
                table.c.model_name == bindparam("m"),
                table.c.token == bindparam("t"),
                table.c.holder == holder,
                table.c.expires_at > now,
            )
            .values(expires_at=now + timedelta(seconds=ttl_seconds)),
            [{"m": m, "t": t} for m, t in tokens.items()],
        )
        session.commit()


def release_many(factory: sessionmaker[Session], models: Collection[str], holder: str) -> None:
    """Give up every lock of ``models`` that ``holder`` holds, in one statement."""
    table = _LOCKS
    with factory(info=_UNFENCED) as session:
        if not models:
            return
        now = db_now(session)
        session.execute(
            update(table)
            .where(among(session, table.c.model_name, sorted(models)), table.c.holder == holder)
            .values(holder="", expires_at=now)
        )
        session.commit()


@contextmanager
def holding_many(
    factory: sessionmaker[Session], models: Collection[str], holder: str, ttl_seconds: float
) -> Iterator[Held]:
    """Hold every lock of ``models`` that is free (never waiting for one another holds) for
    the block, renewed together in the background and released together at the end; the
    block gets what was held and who holds the rest. A model this thread holds already is
    counted as held and neither renewed nor released here (as in ``holding``)."""
    mine = {m for m in models if held_here(m)}
    got = try_acquire_many(factory, [m for m in models if m not in mine], holder, ttl_seconds)
    mark = _HELD.set(_HELD.get() | set(got.tokens))
    stop = threading.Event()

    def keep_renewing() -> None:
        while not stop.wait(ttl_seconds / 3):
            try:
                renew_many(factory, got.tokens, holder, ttl_seconds)
            except Exception:  # a busy database: tried again at the next beat
                continue

    renewer = threading.Thread(target=keep_renewing, name="model-locks", daemon=True)
    renewer.start()
    try:
        yield Held({**got.tokens, **dict.fromkeys(mine, 0)}, got.others)
    finally:
        stop.set()
        renewer.join()
        _HELD.reset(mark)
        release_many(factory, got.tokens, holder)
