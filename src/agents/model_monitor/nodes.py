"""The monitor agent's nodes: intake, read the evidence, decide (pure), record, remember.

Each node is thin: it reads rows through repositories into typed views, calls the pure
``lifecycle.watch_decisions.decide`` and records the decision. The agent never rolls back nor
trains itself: a decision that asks for either carries a ``Handoff`` in the output.
"""

from __future__ import annotations

import logging
from typing import Any

from agents.model_deployer.deps import MONITOR_ACTOR
from agents.model_deployer.intake import IdentityMismatchError
from agents.model_monitor.deps import MonitorDeps
from agents.model_monitor.recording import record_decision
from agents.model_monitor.state import ModelWatch, MonitorDecision, State
from database.leases import StaleFenceError
from database.monitor import MonitorRepository
from lifecycle.errors import BadInputError, ModelDeployerError, UnknownModelError
from lifecycle.stages import ModelStage
from lifecycle.watch_decisions import WatchAction, decide

log = logging.getLogger(__name__)

SOURCES = ("schedule", "chat", "api", "upstream", "cli")
"""Where a request may come from."""

REMEMBERED = frozenset({WatchAction.RETRAIN, WatchAction.ALERT, WatchAction.ROLLBACK})
"""Decisions that leave an episode in memory (a quiet tick does not)."""


def acting_identity(deps: MonitorDeps, claimed: str) -> str:
    """Who a run acts for: a bound agent's identity (a blank name filled in, another refused;
    the watcher's own ``monitor`` accepted), else whoever the input names."""
    if deps.actor is None or claimed == MONITOR_ACTOR:
        if not claimed.strip():
            raise BadInputError("every request must say who asks (requested_by)")
        return claimed
    if claimed.strip() and claimed != deps.actor:
        raise IdentityMismatchError(
            f"this agent acts as {deps.actor}; a request cannot claim to come from {claimed!r}"
        )
    return deps.actor


class MonitorNodes:
    """The graph's nodes over ``deps``."""

    def __init__(self, deps: MonitorDeps) -> None:
        self.deps = deps

    def intake(self, state: State) -> dict[str, Any]:
        """Validate the request; the models to judge; reset the outputs."""
        source = (state.source or "").strip().lower()
        if source not in SOURCES:
            raise BadInputError(f"unknown source {state.source!r}; use one of {', '.join(SOURCES)}")
        who = acting_identity(self.deps, state.requested_by)
        with self.deps.uow() as uow:
            if state.model_name and not uow.models.list(state.model_name):
                raise UnknownModelError(f"model {state.model_name!r} is not registered")
            models = [state.model_name] if state.model_name else []
            models = models or MonitorRepository(uow.session).watched_models()
        return {
            "source": source,
            "requested_by": who,
            "models": models,
            "watches": [],
            "decisions": [],
            "handoffs": [],
            "status": "",
            "errors": [],
        }

    def gather(self, state: State) -> dict[str, Any]:
        """Each model's evidence, policy, last run and production version, as stored now."""
        now = self.deps.clock.now()
        with self.deps.uow() as uow:  # one read of each table for every model
            evidence = MonitorRepository(uow.session).evidence_many(state.models, now)
            policies = uow.retraining.policies_of(state.models)
            last_runs = uow.retraining.last_requested(state.models)
            production = uow.models.latest_in(ModelStage.PRODUCTION)
        watches = [
            ModelWatch(
                evidence=evidence[model],
                policy=policies.get(model),
                last_run_started_at=last_runs.get(model),
                production_version=production.get(model),
            )
            for model in state.models
        ]
        return {"watches": watches}

    def decide(self, state: State) -> dict[str, Any]:
        """The pure decision of each model (``lifecycle.watch_decisions.decide``)."""
        now = self.deps.clock.now()
        decisions = [
            MonitorDecision(
                model_name=w.evidence.model_name,
                decision=decide(
                    w.evidence, w.policy, w.last_run_started_at, now, self.deps.sustained_checks
                ),
            )
            for w in state.watches
        ]
        return {"decisions": decisions}

    def record(self, state: State) -> dict[str, Any]:
        """Record each decision that differs from the model's last one, in one unit of work
        with its audit event and the retraining run it opens; the handoffs it carries."""
        watches = {w.evidence.model_name: w for w in state.watches}
        done: list[MonitorDecision] = []
        errors = list(state.errors)
        with self.deps.uow() as uow:  # one read: a decision that repeats its model's last one
            last = MonitorRepository(uow.session).last_signatures(watches)  # is not recorded
        for item in state.decisions:
            if last.get(item.model_name) == item.decision.signature:
                done.append(item)
                continue
            try:
                done.append(record_decision(self.deps, state, watches[item.model_name], item))
            except StaleFenceError:
                raise  # the watcher lost its lease: stop here, as every write does
            except ModelDeployerError as exc:
                errors.append(f"{item.model_name}: {exc}")
                done.append(item)
        handoffs = [d.handoff for d in done if d.handoff is not None]
        status = "failed" if errors and len(errors) >= len(state.decisions) > 0 else "decided"
        return {"decisions": done, "handoffs": handoffs, "errors": errors, "status": status}

    def remember(self, state: State) -> dict[str, Any]:
        """An episode per recorded retrain, rollback or alert (drift, quality, what was asked),
        for the retraining agent and procedural memory; a memory failure is logged only."""
        if self.deps.memory is None:
            return {}
        for item in state.decisions:
            if not item.recorded or item.decision.action not in REMEMBERED:
                continue
            try:
                self.deps.memory.record_episode(
                    item.model_name,
                    "watch",
                    episode_of(item, state),
                    episode_id=f"watch-{item.decision_id}",
                )
            except Exception:
                log.warning("remembering %s's decision failed", item.model_name, exc_info=True)
        return {}


def episode_of(item: MonitorDecision, state: State) -> dict[str, Any]:
    """What memory keeps of a decision: small, and enough to learn from later."""
    watch = next((w for w in state.watches if w.evidence.model_name == item.model_name), None)
    evidence = watch.evidence if watch is not None else None
    d = item.decision
    return {
        "action": d.action.value,
        "trigger": d.trigger.value if d.trigger else None,
        "reasons": list(d.reasons),
        "decision_id": item.decision_id,
        "retraining_run_id": item.retraining_run_id,
        "version": watch.production_version if watch is not None else None,
        "drifted": list(evidence.drift.drifted) if evidence and evidence.drift else [],
        "quality": (
            {"metric": evidence.quality.metric, "observed": evidence.quality.observed,
             "approved": evidence.quality.approved}
            if evidence and evidence.quality else None
        ),
        "source": state.source,
    }  # fmt: skip
