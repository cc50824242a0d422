"""Recording one decision: the ``monitor_decisions`` row, its audit event (the alerts'
outbox), and for a retrain the run it opens, all in one unit of work.

A decision is written only when its signature differs from the model's last one, so a model
that stays quiet (or keeps drifting the same way) adds no row, and no alert, per tick. A
retrain opens a ``requested`` run (``uow.retraining.open_run``: one active run per model,
decided by the database) and hands it to the retraining agent; an expensive policy's run waits
for a person instead (``await_approval``: ``deployer approve ID`` starts it, so no handoff). A
rollback hands the breaching deployment to the deployer. Nothing else is done here.
"""

from __future__ import annotations

import uuid
from typing import Any

from agents.model_monitor.deps import MonitorDeps
from agents.model_monitor.state import ModelWatch, MonitorDecision, State
from database.models_monitor import MonitorDecisionRow
from database.monitor import MonitorRepository
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.handoff import AgentName, Handoff
from lifecycle.watch_decisions import WatchAction, WatchDecision

AUDIT_ACTIONS = {
    WatchAction.NOTHING: "monitor_all_clear",
    WatchAction.ALERT: "monitor_alert",
    WatchAction.RETRAIN: "retraining_requested",
    WatchAction.ROLLBACK: "rollback_requested",
}
"""The audit event of each recorded decision (``lifecycle.alerts.RULES`` maps the last three)."""


def summary_of(model: str, d: WatchDecision) -> str:
    """One line for a person: the model, what the agent decided, and why."""
    what = {
        WatchAction.NOTHING: "all clear",
        WatchAction.ALERT: "needs attention",
        WatchAction.RETRAIN: f"retraining requested ({d.trigger.value if d.trigger else '?'})",
        WatchAction.ROLLBACK: "rollback requested",
    }[d.action]
    return " ".join(f"{model} {what}: {'; '.join(d.reasons)}".split())[:300]


def record_decision(
    deps: MonitorDeps, state: State, watch: ModelWatch, item: MonitorDecision
) -> MonitorDecision:
    """Record ``item`` unless it repeats the model's last decision; what recording did."""
    d, model, now = item.decision, item.model_name, deps.clock.now()
    with deps.uow() as uow:
        repo = MonitorRepository(uow.session)
        last = repo.last_decision(model)
        if last is not None and last.signature == d.signature:
            return item
        run_id, approval_id = _open_run(uow, state.requested_by, watch, d, now)
        handoff = _handoff(model, d, run_id, approval_id)
        row = repo.add_decision(
            MonitorDecisionRow(
                model_name=model,
                decided_at=now,
                action=d.action.value,
                trigger=d.trigger.value if d.trigger else None,
                severity=d.severity.label,
                reasons=list(d.reasons),
                evidence=watch.evidence.model_dump(mode="json"),
                signature=d.signature,
                requested_by=state.requested_by,
                source=state.source,
                handoff=handoff.model_dump(mode="json") if handoff else None,
                retraining_run_id=run_id,
            )
        )
        payload = _payload(watch, d, row.id, run_id, approval_id)
        subject = d.deployment_id if d.action is WatchAction.ROLLBACK and d.deployment_id else model
        uow.audit.append(state.requested_by, AUDIT_ACTIONS[d.action], subject, payload)
        uow.commit()
    update = {"recorded": True, "decision_id": row.id, "retraining_run_id": run_id}
    return item.model_copy(update={**update, "approval_id": approval_id, "handoff": handoff})


def _open_run(
    uow: SqlAlchemyUnitOfWork, who: str, watch: ModelWatch, d: WatchDecision, now: Any
) -> tuple[str | None, str | None]:
    """A retrain's run (and an expensive one's approval), staged in the decision's unit."""
    if d.action is not WatchAction.RETRAIN or d.trigger is None:
        return None, None
    run_id = f"rt-{uuid.uuid4().hex[:12]}"
    reason = "; ".join(d.reasons)
    row = uow.retraining.open_run(run_id, watch.evidence.model_name, d.trigger, who, now, reason)
    if watch.policy is None or not watch.policy.expensive:
        return run_id, None
    version = watch.production_version or ""
    approval = uow.retraining.await_approval(row, who, now, version=version)
    return run_id, approval.approval_id


def _handoff(
    model: str, d: WatchDecision, run_id: str | None, approval_id: str | None
) -> Handoff | None:
    """The work the decision asks of another agent, if any."""
    reason = "; ".join(d.reasons)
    if d.action is WatchAction.RETRAIN and run_id and not approval_id and d.trigger:
        request: dict[str, Any] = {"model_name": model, "trigger": d.trigger.value}
        request |= {"retraining_run_id": run_id, "reason": reason}
        return Handoff(
            to=AgentName.RETRAINING, request=request, reason=reason, source=AgentName.MONITOR
        )
    if d.action is WatchAction.ROLLBACK and d.deployment_id:
        request = {"action": "rollback", "model_name": model}
        request |= {"current_deployment_id": d.deployment_id, "reason": reason}
        return Handoff(
            to=AgentName.DEPLOYER, request=request, reason=reason, source=AgentName.MONITOR
        )
    return None


def _payload(
    watch: ModelWatch, d: WatchDecision, decision_id: int, run_id: str | None, approval: str | None
) -> dict[str, Any]:
    """The audit event's payload: model, version, a one-line summary, and what was opened."""
    ev = watch.evidence
    version = watch.production_version or (ev.drift.version if ev.drift else "")
    payload: dict[str, Any] = {
        "model": ev.model_name,
        "version": version or "",
        "summary": summary_of(ev.model_name, d),
        "severity": d.severity.label,
        "decision_id": decision_id,
        "reasons": list(d.reasons),
    }
    if d.trigger is not None:
        payload["trigger"] = d.trigger.value
    if run_id:
        payload["run_id"] = run_id
    if approval:
        payload["approval_id"] = approval
    if d.deployment_id:
        payload["deployment_id"] = d.deployment_id
        payload["reason"] = payload["summary"]
    return payload
