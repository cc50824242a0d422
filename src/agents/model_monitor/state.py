"""The monitor agent's state: a narrow input (what a caller asks) extended by the full state.

Values are frozen pydantic models (the evidence, the decisions, the handoffs), which LangGraph's
serializer checkpoints and restores as they are, and LangGraph Studio shows as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from lifecycle.handoff import Handoff
from lifecycle.retraining import RetrainingPolicy
from lifecycle.watch_decisions import Evidence, WatchDecision


class ModelWatch(BaseModel):
    """One model's evidence and what its decision also needs: its policy and last run."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    evidence: Evidence
    policy: RetrainingPolicy | None = None
    last_run_started_at: datetime | None = None
    production_version: str | None = None


class MonitorDecision(BaseModel):
    """One model's decision, and what recording it did."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model_name: str
    decision: WatchDecision
    recorded: bool = False
    """Written to ``monitor_decisions`` (False: the same as the model's last one)."""
    decision_id: int | None = None
    retraining_run_id: str | None = None
    approval_id: str | None = None
    """An expensive retraining's pending approval."""
    handoff: Handoff | None = None


@dataclass(kw_only=True)
class InputState:
    """What a caller (the watcher, chat, the ops API, an upstream agent) asks for."""

    model_name: str = ""
    """The model to judge; empty means every model with a live deployment."""

    requested_by: str = ""
    """Who asks (the watcher: its user); a bound agent fills in or refuses another name."""

    source: str = "schedule"
    """Where the request came from: ``schedule``, ``chat``, ``api`` or ``upstream``."""


@dataclass(kw_only=True)
class State(InputState):
    """Everything the graph knows while it works, and what it returns."""

    models: list[str] = field(default_factory=list)
    """The models judged this run."""

    watches: list[ModelWatch] = field(default_factory=list)
    """Each model's evidence, policy and last run, as read."""

    decisions: list[MonitorDecision] = field(default_factory=list)
    """Out: each model's decision with its reasons, and what recording it did."""

    handoffs: list[Handoff] = field(default_factory=list)
    """Out: work asked of other agents (a rollback of the deployer, a retraining)."""

    status: str = ""
    """Out: ``decided`` or ``failed``."""

    errors: list[str] = field(default_factory=list)
    """Out: what went wrong, one readable line each (a model whose decision failed)."""
