"""The RetrainingAgent's state: a narrow input (which model, why, on what data) extended by
what the run found and produced.

Values are plain JSON types or frozen pydantic models (``Handoff``), which LangGraph's
serializer checkpoints and restores as they are, so a run resumes after a crash on SQLite and
PostgreSQL alike and LangGraph Studio shows it as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import JsonValue

from lifecycle.handoff import Handoff


@dataclass(kw_only=True)
class InputState:
    """What a caller (the monitor agent, a person, the supervisor, a schedule) asks for."""

    model_name: str = ""
    """The registered model to retrain, e.g. ``iris``; it needs a retraining policy."""

    trigger: str = "manual"
    """What asked: ``drift``, ``quality``, ``schedule`` or ``manual``."""

    retraining_run_id: str | None = None
    """The ``retraining_runs`` row the monitor (or a person) opened; None: the agent opens one
    itself (a manual request), named after the graph's thread."""

    data_since: str | None = None
    """ISO start of the data window (default: the policy's window before ``data_until``)."""

    data_until: str | None = None
    """ISO end of the data window (default: now)."""

    requested_by: str = ""
    """Who asks (default: the actor the agent is bound to)."""

    reason: str = ""
    """Why, in a sentence; kept in the run, the audit log and the handoffs."""


@dataclass(kw_only=True)
class State(InputState):
    """Everything the run knows while it works, and what it returns."""

    status: str = ""
    """Out: the run's status (``lifecycle.retraining.RunStatus``): handed_over, not_better or
    failed when it ends."""

    new_version: str | None = None
    """Out: the MLflow version the retraining registered."""

    label: str | None = None
    """Out: its semantic label (the parent's with the patch bumped), None for an unlabelled
    parent."""

    evaluation: dict[str, JsonValue] = field(default_factory=dict)
    """Out: ``{"rows", "task", "primary_metric", "candidate": {...}, "production": {"version",
    ...}}``: both versions on the same held-out rows."""

    handoffs: list[Handoff] = field(default_factory=list)
    """Out: what the deployer is asked to do next (staging, shadow, a shadow deploy), in
    order; empty unless the candidate beat or matched production. Never production."""

    errors: list[str] = field(default_factory=list)
    """Out: what went wrong, one readable line each."""

    run: dict[str, JsonValue] = field(default_factory=dict)
    """The run as the intake resolved it: ``id``, ``parent_version``, ``parent_label``,
    ``task``, ``primary_metric``, ``data_since``/``data_until``, ``experiment_id``."""

    data: dict[str, JsonValue] = field(default_factory=dict)
    """The window's files: ``train_file``, ``holdout_file``, ``train_rows``, ``holdout_rows``,
    ``columns``."""

    trained: dict[str, JsonValue] = field(default_factory=dict)
    """The MLflow Project's run: ``mlflow_run_id``, ``model_uri``, ``metrics``."""
