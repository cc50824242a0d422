"""Episodic and procedural memory of rollouts, over any LangGraph ``BaseStore``.

Episodes live under ``("model_deployer", "episodes", <model>)`` keyed by their id, the distilled
procedure under ``("model_deployer", "procedures", <model>)`` with the key ``"procedure"``.
:class:`StoreMemory` implements the ``lifecycle.ports.Memory`` port; give it an
``InMemoryStore`` in tests and the store from :func:`memory.stores.open_store` otherwise.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
from langgraph.store.base import BaseStore

from lifecycle.errors import BadInputError, InfrastructureError
from lifecycle.ports import Clock
from memory.advice import Advice, advise
from memory.episodes import build_episode
from memory.procedure import distill

ROOT: Final = "model_deployer"
PROCEDURE_KEY: Final = "procedure"
PAGE_SIZE: Final = 200

STORE_ERRORS: Final = (sqlite3.Error, psycopg.Error)
"""What the SQLite and PostgreSQL stores raise when the database fails."""


class StoreMemory:
    """The ``Memory`` port over a LangGraph store: records episodes, keeps the procedure current.

    ``clock`` stamps ``recorded_at`` (the system's UTC time when not given).
    """

    def __init__(self, store: BaseStore, clock: Clock | None = None) -> None:
        self._store = store
        self._clock = clock

    def record_episode(
        self,
        model_name: str,
        kind: str,
        episode: Mapping[str, Any],
        *,
        episode_id: str | None = None,
    ) -> str:
        """Store one episode, refresh the model's procedure, and return the episode's id.

        Giving ``episode_id`` makes the call idempotent: recording the same id again replaces
        that episode (a graph node that runs twice on resume remembers once).
        """
        history = self._history(model_name)
        replayed = [e for e in history if episode_id and e.get("id") == episode_id]
        sequence = max((int(e.get("sequence", 0)) for e in history), default=0) + 1
        document = build_episode(
            model_name,
            kind,
            episode,
            recorded_at=self._now(),
            sequence=int(replayed[0]["sequence"]) if replayed else sequence,
            episode_id=episode_id,
        )
        others = [e for e in history if e.get("id") != document["id"]]
        procedure = distill(model_name, _oldest_first([*others, document]))
        with _store_errors():
            self._store.put(_episodes_ns(model_name), document["id"], document)
            self._store.put(_procedures_ns(model_name), PROCEDURE_KEY, procedure)
        return str(document["id"])

    def episodes(self, model_name: str, kind: str | None = None) -> list[dict[str, Any]]:
        """The model's episodes, newest first, only those of ``kind`` when it is given."""
        history = self._history(model_name, {"kind": kind} if kind else None)
        return list(reversed(_oldest_first(history)))

    def last_episode(
        self, model_name: str, kind: str | None = None, path: str | None = None
    ) -> dict[str, Any] | None:
        """The newest episode of the model, of ``kind`` and on ``path`` when given, or None."""
        wanted = {name: value for name, value in (("kind", kind), ("path", path)) if value}
        history = _oldest_first(self._history(model_name, wanted or None))
        return history[-1] if history else None

    def procedure(self, model_name: str) -> dict[str, Any]:
        """The model's procedure document (see :mod:`memory.procedure`); empty counts if new."""
        with _store_errors():
            item = self._store.get(_procedures_ns(model_name), PROCEDURE_KEY)
        return dict(item.value) if item is not None else distill(model_name, ())

    def advice(self, model_name: str) -> Advice:
        """What memory advises for the model's next rollout (:func:`memory.advice.advise`)."""
        return advise(self.procedure(model_name))

    def _history(
        self, model_name: str, where: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every stored episode of the model matching ``where``, in no particular order."""
        namespace = _episodes_ns(model_name)
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            with _store_errors():
                page = self._store.search(namespace, filter=where, limit=PAGE_SIZE, offset=offset)
            found += [dict(item.value) for item in page if tuple(item.namespace) == namespace]
            offset += len(page)
            if len(page) < PAGE_SIZE:
                return found

    def _now(self) -> datetime:
        return self._clock.now() if self._clock else datetime.now(UTC)


@contextmanager
def _store_errors() -> Iterator[None]:
    """Wrap the store's database errors, which a retry may cure."""
    try:
        yield
    except STORE_ERRORS as exc:
        raise InfrastructureError(f"the memory store failed: {exc}") from exc


def _episodes_ns(model_name: str) -> tuple[str, ...]:
    return (ROOT, "episodes", _label(model_name))


def _procedures_ns(model_name: str) -> tuple[str, ...]:
    return (ROOT, "procedures", _label(model_name))


def _label(model_name: str) -> str:
    """``model_name`` as a namespace label: store labels may not hold a period, so escape it."""
    if not model_name or "\x00" in model_name:
        raise BadInputError(f"{model_name!r} is not a model name")
    return model_name.replace("%", "%25").replace(".", "%2E")


def _oldest_first(episodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Episodes in the order they were recorded (ties on the clock broken by sequence)."""
    return sorted(episodes, key=lambda e: (str(e.get("recorded_at", "")), e.get("sequence", 0)))
