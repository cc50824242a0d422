"""What the monitor agent's nodes need from the outside world, bundled in ``MonitorDeps``.

The watcher builds the real bundle over its container (``agents.model_monitor.agent``); node
tests build one from fakes. Nodes read and write through repositories, never SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.model_deployer.deps import AgentClock, SystemClock
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.watch_decisions import SUSTAINED_CHECKS


class EpisodeRecorder(Protocol):
    """The part of ``memory.store_memory.StoreMemory`` the agent uses."""

    def record_episode(
        self,
        model_name: str,
        kind: str,
        episode: Any,
        *,
        episode_id: str | None = None,
    ) -> str: ...


@dataclass
class MonitorDeps:
    """Everything the nodes talk to."""

    uow: Callable[[], SqlAlchemyUnitOfWork]
    memory: EpisodeRecorder | None = None
    """Where drift and quality episodes go (None: not remembered)."""
    clock: AgentClock = field(default_factory=SystemClock)
    actor: str | None = None
    """Who this agent acts for (a request naming someone else is refused); None only over
    fakes in unit tests, whose inputs name their actors."""
    sustained_checks: int = SUSTAINED_CHECKS
    """Failed SLO judgements in a row before a rollback is asked for."""
