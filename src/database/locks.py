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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from database.engine import read_session
from database.leases import FENCE_INFO, db_now
from database.models_safety import ModelLockRow
from lifecycle.errors import ConflictError

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
