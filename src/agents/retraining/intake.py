"""The retraining run's intake: the model has a policy and a production version, the run is
this model's and may start; the run goes ``running`` with its data window, once.

Bad input and refusals raise typed errors. A run someone else opened (the monitor, a person)
that cannot start is marked ``failed`` first, so it does not hold the model's one active slot.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig

from agents.retraining.deps import RetrainingDeps
from agents.retraining.keyed import once
from agents.retraining.state import State
from database.protocols import UnitOfWork
from lifecycle.durations import shown
from lifecycle.errors import (
    BadInputError,
    ConflictError,
    ModelDeployerError,
    RefusedError,
    UnknownModelError,
)
from lifecycle.quality import TaskType, infer_task
from lifecycle.records import utcnow
from lifecycle.retraining import RetrainingPolicy, RunStatus, Trigger
from lifecycle.retraining_eval import PRIMARY_METRIC, track_record
from lifecycle.stages import ModelStage

STARTABLE = frozenset({RunStatus.REQUESTED.value, RunStatus.RUNNING.value})
"""A run the agent may (re)start: requested, or running when a crashed run resumes."""


class NoRetrainingPolicyError(UnknownModelError):
    """The model has no retraining policy: there is nothing to run (a 404 over the API)."""


class NoProductionVersionError(RefusedError):
    """There is no production version to evaluate a retrained one against."""


def parse_trigger(value: str) -> Trigger:
    try:
        return Trigger(str(value).strip().lower())
    except ValueError:
        known = ", ".join(t.value for t in Trigger)
        raise BadInputError(f"unknown retraining trigger {value!r}; use one of {known}") from None


def parse_instant(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadInputError(f"{name} {value!r} is not an ISO date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)


def run_id_for(state: State, config: RunnableConfig | None) -> str:
    """The run's id: the one given, else named after the graph's thread (a re-run of the
    intake after a crash finds the same run), else a fresh one (no checkpointer)."""
    if state.retraining_run_id:
        return state.retraining_run_id
    thread = ((config or {}).get("configurable") or {}).get("thread_id")
    return f"rt-{thread}"[:64] if thread else f"rt-{uuid.uuid4().hex[:16]}"


class IntakeNode:
    def __init__(self, deps: RetrainingDeps) -> None:
        self.deps = deps

    def __call__(self, state: State, config: RunnableConfig) -> dict[str, Any]:
        if not state.model_name.strip():
            raise BadInputError("name the model to retrain")
        trigger = parse_trigger(state.trigger)
        run_id = run_id_for(state, config)
        actor = state.requested_by or self.deps.actor or "unknown"
        try:
            run = once(
                self.deps,
                run_id,
                "intake",
                lambda uow: self._start(uow, state, run_id, trigger, actor),
            )
        except ModelDeployerError as exc:
            if state.retraining_run_id:
                self._fail_given(run_id, state.model_name, actor, str(exc))
            raise
        run = {**run, **remembered(self.deps, state.model_name, run)}
        return {
            "retraining_run_id": run_id,
            "run": run,
            "status": RunStatus.RUNNING.value,
            "errors": [],
            "handoffs": [],
        }

    def _start(
        self, uow: UnitOfWork, state: State, run_id: str, trigger: Trigger, actor: str
    ) -> dict[str, Any]:
        model, now = state.model_name, self.deps.clock.now()
        policy = uow.retraining.policy(model)
        if policy is None:
            raise NoRetrainingPolicyError(
                f"{model} has no retraining policy; set one with deployer retraining set "
                f"{model} --project PATH"
            )
        serving = uow.models.list(model, ModelStage.PRODUCTION)
        if not serving:
            raise NoProductionVersionError(
                f"{model} has no production version to evaluate a retrained one against"
            )
        parent = serving[-1]
        row = uow.retraining.run(run_id)
        if row is None:
            if state.retraining_run_id:
                raise BadInputError(f"there is no retraining run {run_id}")
            row = uow.retraining.open_run(run_id, model, trigger, actor, now, state.reason)
        if row.model_name != model:
            raise BadInputError(f"retraining run {run_id} is {row.model_name}'s, not {model}'s")
        if row.status not in STARTABLE:
            raise ConflictError(f"retraining run {run_id} is {row.status}: it cannot start")
        until = parse_instant(state.data_until, "data_until") or now
        since = parse_instant(state.data_since, "data_since") or until - timedelta(
            seconds=policy.data_window_seconds
        )
        if since >= until:
            raise BadInputError("the data window is empty: data_since must come before data_until")
        row.data_since, row.data_until, row.parent_version = since, until, parent.version
        uow.retraining.set_status(row, RunStatus.RUNNING, now)
        task = infer_task(dict(parent.metrics)) or TaskType.CLASSIFICATION
        uow.audit.append(
            actor,
            "retraining_started",
            model,
            {
                "model": model,
                "version": parent.version,
                "run_id": run_id,
                "trigger": row.trigger,
                "data_since": since.isoformat(),
                "data_until": until.isoformat(),
                "summary": f"{model} retraining from v{parent.version} ({row.trigger})",
            },
        )
        return resolved(run_id, row.trigger, parent, policy, task, (since, until), row.requested_by)

    def _fail_given(self, run_id: str, model: str, actor: str, error: str) -> None:
        with self.deps.uow() as uow:
            row = uow.retraining.run(run_id)
            if row is None or row.model_name != model or row.status not in STARTABLE:
                return
            uow.retraining.set_status(row, RunStatus.FAILED, self.deps.clock.now(), error)
            uow.audit.append(
                actor,
                "retraining_failed",
                model,
                {"model": model, "run_id": run_id, "summary": error},
            )
            uow.commit()


def resolved(
    run_id: str,
    trigger: str,
    parent: Any,
    policy: RetrainingPolicy,
    task: TaskType,
    window: tuple[datetime, datetime],
    requested_by: str,
) -> dict[str, Any]:
    """The run as the later nodes read it (``State.run``)."""
    since, until = window
    return {
        "id": run_id,
        "trigger": trigger,
        "parent_version": parent.version,
        "parent_label": parent.label,
        "experiment_id": parent.experiment_id,
        "criteria": list(parent.success_criteria.get("criteria", [])),
        "task": task.value,
        "primary_metric": PRIMARY_METRIC[task],
        "data_since": since.isoformat(),
        "data_until": until.isoformat(),
        "project": policy.project,
        "entry_point": policy.entry_point,
        "params": dict(policy.params),
        "requested_by": requested_by,
    }


def remembered(deps: RetrainingDeps, model: str, run: dict[str, Any]) -> dict[str, Any]:
    """The run's window as people write it (``7d``) and what memory says of runs like it."""
    since = datetime.fromisoformat(str(run["data_since"]))
    until = datetime.fromisoformat(str(run["data_until"]))
    window = shown(round((until - since).total_seconds()))
    track = None
    if deps.memory is not None:
        try:
            paths = deps.memory.procedure(model).get("paths") or {}
            track = track_record(paths, str(run["trigger"]), window)
        except ModelDeployerError:  # memory is advice: a run never fails for want of it
            track = None
    return {"window": window, "track_record": track}
