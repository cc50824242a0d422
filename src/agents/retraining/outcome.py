"""The end of a retraining run: both versions evaluated on the same held-out rows, the
decision (``lifecycle.retraining_eval.beats_or_matches``), and what comes of it: a handover to
the deployer (staging, shadow, a shadow deploy; never production), or ``not_better``, or
``failed``. The run row reaches its final status with ``finished_at``, audited, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.retraining.dataset import LABEL_COLUMN, read_rows
from agents.retraining.deps import RetrainingDeps
from agents.retraining.keyed import once
from agents.retraining.state import State
from agents.retraining.steps import FAILED, failed
from database.protocols import UnitOfWork
from lifecycle.errors import ModelDeployerError
from lifecycle.handoff import AgentName, Handoff
from lifecycle.quality import Label, TaskType, as_label
from lifecycle.records import model_version_id
from lifecycle.retraining import RunStatus
from lifecycle.retraining_eval import beats_or_matches, evaluation_metrics


def actor_of(state: State) -> str:
    return str(state.run.get("requested_by") or state.requested_by or "retraining")


class OutcomeNodes:
    def __init__(self, deps: RetrainingDeps) -> None:
        self.deps = deps

    def evaluate(self, state: State) -> dict[str, Any]:
        run, model = state.run, state.model_name
        rows = read_rows(str(state.data["holdout_file"]))
        features = [{k: v for k, v in r.items() if k != LABEL_COLUMN} for r in rows]
        truth = [as_label(r[LABEL_COLUMN]) for r in rows]
        task = TaskType(str(run["task"]))
        parent = str(run["parent_version"])
        try:
            candidate = self.deps.runner.predict(str(state.trained["model_uri"]), features)
            production = self.deps.runner.predict(f"models:/{model}/{parent}", features)
        except ModelDeployerError as exc:
            return failed(str(exc))
        evaluation = {
            "rows": len(rows),
            "task": task.value,
            "primary_metric": run["primary_metric"],
            "candidate": evaluation_metrics(task, _pairs(candidate, truth)),
            "production": {
                "version": parent,
                **evaluation_metrics(task, _pairs(production, truth)),
            },
        }
        stored = once(
            self.deps, str(run["id"]), "evaluate", lambda uow: self._store(uow, state, evaluation)
        )
        return {"evaluation": stored, "status": RunStatus.EVALUATING.value}

    def _store(self, uow: UnitOfWork, state: State, evaluation: dict[str, Any]) -> dict[str, Any]:
        row = uow.retraining.run(str(state.run["id"]))
        if row is not None:
            row.evaluation = evaluation
            uow.retraining.set_status(row, RunStatus.EVALUATING, self.deps.clock.now())
        version = uow.models.find(state.model_name, str(state.new_version))
        if version is not None:  # the gates judge the held-out figures, marked as such
            figures = dict(evaluation["candidate"])
            version.metrics = {**version.metrics, **figures}
            sources = {**version.metric_sources, **dict.fromkeys(figures, "retraining")}
            version.success_criteria = {**version.success_criteria, "metric_sources": sources}
        return evaluation

    def conclude(self, state: State) -> dict[str, Any]:
        run, model, version = state.run, state.model_name, str(state.new_version)
        metric = str(run["primary_metric"])
        passes = beats_or_matches(state.evaluation, metric, self.deps.rules.tolerance)
        status = RunStatus.HANDED_OVER if passes else RunStatus.NOT_BETTER
        summary = _comparison(state.evaluation, metric, passes)
        reason = f"retrained {model} v{version}: {summary}"
        if state.run.get("track_record"):
            reason += f"; memory: {state.run['track_record']}"

        def act(uow: UnitOfWork) -> dict[str, Any]:
            self._finish(uow, state, status, "")
            action = "retraining_handed_over" if passes else "retraining_not_better"
            payload = {"model": model, "version": version, "run_id": run["id"], "summary": reason}
            uow.audit.append(actor_of(state), action, model_version_id(model, version), payload)
            return {"status": status.value}

        once(self.deps, str(run["id"]), "conclude", act)
        outcome = "succeeded" if passes else "refused"
        self.remember(state, outcome, [] if passes else [summary])
        handoffs = self.handoffs(model, version, reason) if passes else []
        return {"status": status.value, "handoffs": handoffs}

    def handoffs(self, model: str, version: str, reason: str) -> list[Handoff]:
        """Staging, then shadow, then a shadow deploy: the supervisor runs them in order and
        stops at the first that does not succeed. Never production."""
        base = {"model_name": model, "version": version, "reason": reason}
        requests: list[dict[str, Any]] = [
            {"action": "promote", **base, "target_stage": "staging"},
            {"action": "promote", **base, "target_stage": "shadow"},
            {
                "action": "deploy",
                **base,
                "strategy": "shadow",
                "traffic": self.deps.rules.shadow_traffic,
            },
        ]
        return [
            Handoff(to=AgentName.DEPLOYER, request=r, reason=reason, source=AgentName.RETRAINING)
            for r in requests
        ]

    def fail(self, state: State) -> dict[str, Any]:
        error = "; ".join(state.errors) or "the retraining failed"
        run_id = str(state.run.get("id") or state.retraining_run_id)

        def act(uow: UnitOfWork) -> dict[str, Any]:
            self._finish(uow, state, RunStatus.FAILED, error)
            payload = {"model": state.model_name, "run_id": run_id, "summary": error[:300]}
            uow.audit.append(actor_of(state), "retraining_failed", state.model_name, payload)
            return {}

        once(self.deps, run_id, "fail", act)
        self.remember(state, "failed", [error[:300]])
        return {"status": FAILED, "handoffs": []}

    def remember(self, state: State, outcome: str, reasons: list[str]) -> None:
        """The run's episode (idempotent: its id is the run's), for the agents' memory."""
        if self.deps.memory is None or not state.run:
            return
        episode = {
            "trigger": state.run.get("trigger"),
            "window": state.run.get("window"),
            "version": state.new_version,
            "parent_version": state.run.get("parent_version"),
            "outcome": outcome,
            "reasons": reasons,
            "evaluation": dict(state.evaluation),
        }
        try:
            self.deps.memory.record_episode(
                state.model_name, "retraining", episode, episode_id=str(state.run["id"])
            )
        except ModelDeployerError:  # memory is advice: the run's outcome stands without it
            return

    def _finish(self, uow: UnitOfWork, state: State, status: RunStatus, error: str) -> None:
        row = uow.retraining.run(str(state.run.get("id") or state.retraining_run_id))
        if row is not None:
            uow.retraining.set_status(row, status, self.deps.clock.now(), error)


def next_or_fail(step: str) -> Any:
    """After a step: on to ``step``, or to ``fail`` when it failed."""

    def route(state: State) -> str:
        return "fail" if state.status == FAILED else step

    return route


def _pairs(predicted: Sequence[Any], truth: Sequence[Label | None]) -> list[tuple[Label, Label]]:
    pairs: list[tuple[Label, Label]] = []
    for value, label in zip(predicted, truth, strict=True):
        guess = as_label(value)
        if guess is not None and label is not None:
            pairs.append((guess, label))
    return pairs


def _comparison(evaluation: Mapping[str, Any], metric: str, passes: bool) -> str:
    candidate = (evaluation.get("candidate") or {}).get(metric)
    production = (evaluation.get("production") or {}).get(metric)
    verdict = "beats or matches" if passes else "is worse than"
    return (
        f"{metric} {_shown(candidate)} {verdict} production's {_shown(production)} "
        f"on {evaluation.get('rows', 0)} held-out rows"
    )


def _shown(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
