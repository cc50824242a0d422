"""Episodic and procedural memory of rollouts over a LangGraph store, and the agent's checkpointer.

- :class:`StoreMemory` implements ``lifecycle.ports.Memory`` over any ``BaseStore``;
- :func:`advise` turns a model's procedure into :class:`Advice` for its next rollout (pure);
- :func:`open_store` and :func:`open_checkpointer` open LangGraph's SQLite or PostgreSQL store
  and saver from the deployer's database URL.

Imports only ``lifecycle``, LangGraph and the standard library (and psycopg for its errors).
"""

from memory.advice import Advice, advise, slower_canary
from memory.episodes import EPISODE_KINDS, OUTCOMES, is_production_rollout, path_of
from memory.procedure import distill
from memory.store_memory import StoreMemory
from memory.stores import agent_sqlite_path, open_checkpointer, open_store

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
