"""What the RetrainingAgent's nodes need from the outside world, as ports, in
``RetrainingDeps``. ``agents.bootstrap.Container.retraining_deps`` builds the real bundle;
node tests build one from fakes (``tests/retraining_fakes.py``). Nodes never import an adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from agents.model_deployer.deps import AgentClock, SystemClock
from database.protocols import UnitOfWork
from database.retraining_data import LabelledRequest
from lifecycle.ports import ModelRegistry, ProjectRunner


class RetrainingMemory(Protocol):
    """The parts of ``memory.store_memory.StoreMemory`` the retraining nodes use."""

    def record_episode(
        self, model_name: str, kind: str, episode: Any, *, episode_id: str | None = None
    ) -> str: ...

    def procedure(self, model_name: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RetrainingRules:
    """The rules every run is held to (``DEPLOYER_RETRAINING_*`` settings)."""

    min_train_rows: int = 30
    """Labelled requests needed in the training file."""
    min_holdout_rows: int = 10
    """Labelled requests needed held out for the evaluation."""
    tolerance: float = 0.0
    """How far below production the candidate's primary metric may be and still match."""
    shadow_traffic: float = 100.0
    """The mirror share of the shadow deploy handed to the deployer."""


@dataclass
class RetrainingDeps:
    """Everything the retraining nodes talk to."""

    uow: Callable[[], UnitOfWork]
    registry: ModelRegistry
    runner: ProjectRunner
    labelled: Callable[[str, datetime, datetime], Sequence[LabelledRequest]]
    """A model's labelled requests captured in ``[since, until)`` (read only)."""
    workdir: Path
    """A private folder; each run writes its training and held-out files in ``<run id>/``."""
    clock: AgentClock = field(default_factory=SystemClock)
    rules: RetrainingRules = field(default_factory=RetrainingRules)
    memory: RetrainingMemory | None = None
    """Episodes of runs and what they taught (None: the agent remembers nothing)."""
    actor: str | None = None
    """Who the agent acts for (a manual run's requester); None only over fakes."""
