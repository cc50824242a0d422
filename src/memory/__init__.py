"""Episodic and procedural memory of rollouts over a LangGraph store, and the agent's checkpointer.

- :class:`StoreMemory` implements ``lifecycle.ports.Memory`` over any ``BaseStore``;
- :func:`advise` turns a model's procedure into :class:`Advice` for its next rollout (pure);
- :func:`open_store` and :func:`open_checkpointer` open LangGraph's SQLite or PostgreSQL store
  and saver from the deployer's database URL.

Imports only ``lifecycle``, LangGraph and the standard library (and psycopg for its errors).
The names below are imported on first use (PEP 562): ``memory.advice`` is pure and cheap, and a
module that needs it must not load LangGraph's stores (and numpy, through sqlite-vec) with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memory.advice import Advice, advise, slower_canary
    from memory.episodes import EPISODE_KINDS, OUTCOMES, is_production_rollout, path_of
    from memory.procedure import distill
    from memory.store_memory import StoreMemory
    from memory.stores import agent_sqlite_path, open_checkpointer, open_store

_HOMES = {
    "Advice": "advice",
    "advise": "advice",
    "slower_canary": "advice",
    "EPISODE_KINDS": "episodes",
    "OUTCOMES": "episodes",
    "is_production_rollout": "episodes",
    "path_of": "episodes",
    "distill": "procedure",
    "StoreMemory": "store_memory",
    "agent_sqlite_path": "stores",
    "open_checkpointer": "stores",
    "open_store": "stores",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "EPISODE_KINDS",
    "OUTCOMES",
    "Advice",
    "StoreMemory",
    "advise",
    "agent_sqlite_path",
    "distill",
    "is_production_rollout",
    "open_checkpointer",
    "open_store",
    "path_of",
    "slower_canary",
]
