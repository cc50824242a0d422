"""What ``deployer history NAME`` reports: one model's life as a timeline, and what memory advises.

The timeline merges what the state database recorded (stage changes, deployments, rollbacks,
approvals, the monitor's judgements that moved a rollout) with what the agent remembered
(episodes), newest first. Each event is
``{"at", "kind", "summary", ...details}``; the procedure and advice come from memory as stored.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agents.ports import Services
from agents.queries.checks import MOVES
from database.models import (
    ApprovalRow,
    AuditEventRow,
    DeploymentRow,
    HealthCheckRow,
    VersionRecordRow,
)
from lifecycle.errors import UnknownModelError

ARROW = "->"


def model_history(container: Services, model_name: str, limit: int = 50) -> dict[str, Any]:
    """The newest ``limit`` events of ``model_name``, its procedure and the advice for it.

    Raises UnknownModelError when no version of the model is registered.
    """
    with container.reader() as uow:
        if model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"no model named {model_name!r} is registered")
        events = [_stage_event(r) for r in uow.version_records.list_for(model_name)]
        deployments = uow.deployments.list(model_name)
        for deployment in deployments:
            events.extend(_deployment_events(deployment))
        events.extend(_resize_events(uow.session, [d.deployment_id for d in deployments]))
        events.extend(
            _approval_event(a) for a in uow.approvals.list(state=None) if a.model_name == model_name
        )
        # The monitor's judgements that moved something; its waits are in `deployer checks`.
        moves = uow.health_checks.list(model_name=model_name, limit=max(1, limit), actions=MOVES)
        events.extend(_check_event(c) for c in moves)
        labels = {r.version: r.label for r in uow.models.list(model_name)}
    for event in events:  # each event about a version says its label (issue 15)
        if event.get("version") is not None:
            event["label"] = labels.get(str(event["version"]))
    with container.open_memory() as memory:
        events.extend(_episode_event(e) for e in memory.episodes(model_name))
        procedure = memory.procedure(model_name)
        advice = asdict(memory.advice(model_name))
    # The sort is stable even in reverse, so events at the same instant keep the order they
    # were gathered in.
    events.sort(key=lambda e: e["at"], reverse=True)
    return {
        "model_name": model_name,
        "labels": {v: label for v, label in labels.items() if label},
        "events": events[: max(0, limit)],
        "procedure": procedure,
        "advice": advice,
    }


def _stage_event(r: VersionRecordRow) -> dict[str, Any]:
    move = f"{r.from_stage} {ARROW} {r.to_stage}" if r.from_stage else f"registered in {r.to_stage}"
    because = f": {r.reason}" if r.reason else ""
    return {
        "at": r.changed_at,
        "kind": "stage",
        "summary": f"v{r.version} {move} by {r.changed_by}{because}",
        "version": r.version,
        "from_stage": r.from_stage,
        "to_stage": r.to_stage,
        "changed_by": r.changed_by,
        "reason": r.reason,
        "approval_id": r.approval_id,
        "metrics": r.metrics,
    }


def _deployment_events(d: DeploymentRow) -> list[dict[str, Any]]:
    """The deployment itself, and its rollback when it had one."""
    details = {
        "version": d.model_version,
        "deployment_id": d.deployment_id,
        "strategy": d.strategy,
        "target_stage": d.target_stage,
        "status": d.status,
        "traffic_percentage": d.traffic_percentage,
        "deployed_by": d.deployed_by,
        "endpoint_url": d.endpoint_url,
    }
    events = [
        {
            "at": d.deployed_at,
            "kind": "deployment",
            "summary": (
                f"v{d.model_version} deployed ({d.strategy}, {d.traffic_percentage:g}%) "
                f"as {d.deployment_id}: {d.status}"
            ),
            **details,
        }
    ]
    if d.rolled_back_at is not None:
        events.append(
            {
                "at": d.rolled_back_at,
                "kind": "rollback",
                "summary": f"v{d.model_version} deployment {d.deployment_id} rolled back",
                **details,
            }
        )
    return events


RESIZE_ACTIONS = ("deployment_resized", "deployment_resize_failed")
"""``handlers.resize``'s audit events: a running deployment's replicas and resources changed."""


def _resize_events(session: Session, deployment_ids: list[str]) -> list[dict[str, Any]]:
    """Each resize of these deployments (``PATCH /v1/deployments/{id}``), from the audit log."""
    if not deployment_ids:
        return []
    query = select(AuditEventRow).where(
        AuditEventRow.action.in_(RESIZE_ACTIONS), AuditEventRow.subject.in_(deployment_ids)
    )
    events = []
    for e in session.scalars(query.order_by(AuditEventRow.id)):
        p = dict(e.payload or {})
        before, after = p.get("before") or {}, p.get("after") or {}
        changed = ", ".join(
            f"{k} {before.get(k)} {ARROW} {after.get(k)}"
            for k in ("replicas", "cpu_limit", "memory_limit", "autoscaling")
            if before.get(k) != after.get(k)
        )
        failed = f" failed: {p.get('error')}" if e.action == RESIZE_ACTIONS[1] else ""
        events.append(
            {
                "at": e.occurred_at,
                "kind": "resize",
                "summary": f"{e.subject} resized by {e.actor} ({changed}){failed}",
                "version": p.get("version"),
                "deployment_id": e.subject,
                "before": before,
                "after": after,
                "reason": p.get("reason", ""),
                "failed": bool(failed),
            }
        )
    return events


def _approval_event(a: ApprovalRow) -> dict[str, Any]:
    decided = f" by {a.approver}" if a.approver and a.state != "pending" else ""
    return {
        "at": a.requested_at,
        "kind": "approval",
        "summary": (
            f"approval {a.approval_id} for v{a.version} {ARROW} {a.target_stage} "
            f"requested by {a.requested_by}: {a.state}{decided}"
        ),
        "approval_id": a.approval_id,
        "version": a.version,
        "action": a.action,
        "target_stage": a.target_stage,
        "state": a.state,
        "requested_by": a.requested_by,
        "reason": a.reason,
        "approver": a.approver,
        "decided_at": a.decided_at,
        "comment": a.comment,
    }


def _check_event(c: HealthCheckRow) -> dict[str, Any]:
    return {
        "at": c.checked_at,
        "kind": "monitor",
        "summary": f"{c.deployment_id} {c.action} ({c.status}): {c.message}",
        "deployment_id": c.deployment_id,
        "action": c.action,
        "status": c.status,
        "message": c.message,
        "metrics": dict(c.metrics),
        "tick_id": c.tick_id,
    }


def _episode_event(episode: dict[str, Any]) -> dict[str, Any]:
    """A remembered episode; its own fields are kept, under ``episode_id`` for its id."""
    details = {k: v for k, v in episode.items() if k not in ("id", "kind", "model_name")}
    return {
        **details,
        # recorded_at is ISO text in UTC (memory.episodes.iso_utc), so it parses back aware and
        # sorts with the database's aware datetimes.
        "at": datetime.fromisoformat(str(episode["recorded_at"])),
        "kind": f"episode:{episode.get('kind')}",
        "summary": _episode_summary(episode),
        "episode_id": episode.get("id"),
    }


def _episode_summary(episode: dict[str, Any]) -> str:
    """``v2 staging->shadow: refused (accuracy 0.81 < 0.9)``: version, path, outcome, reasons."""
    head = " ".join(
        str(part)
        for part in (
            f"v{episode['version']}" if episode.get("version") else None,
            episode.get("path") or episode.get("kind"),
        )
        if part
    )
    outcome = episode.get("outcome")
    reasons = episode.get("reasons") or []
    if isinstance(reasons, str):
        reasons = [reasons]
    why = f" ({'; '.join(str(r) for r in reasons)})" if reasons else ""
    return f"{head}: {outcome}{why}" if outcome else f"{head}{why}"
