"""Read models the web dashboard needs that no other query gives: a rollout's canary against
stable figures over time, a shadow's agreement over time with its (sanitised) disagreement
samples, the latest drift check per feature, and the audit log's recent events.

Each is JSON-ready, read through a read-only unit of work, and renders nothing (the pages
under ``agents.entrypoints.web`` draw them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agents.ports import Services
from database.models import AuditEventRow, GatewayStatsRow, HealthCheckRow
from database.models_drift import DriftCheckRow

FIGURES = ("p50_ms", "p95_ms", "p99_ms", "error_rate")
"""The figures a rollout's judgement keeps for each side (``model_deployer.health._figures``)."""
MAX_SAMPLES = 10
"""Disagreement samples shown per shadow."""


def _checks(c: Services, model_name: str, limit: int) -> list[HealthCheckRow]:
    """The model's newest ``limit`` judgements, oldest first."""
    with c.reader() as uow:
        query = (
            select(HealthCheckRow)
            .where(HealthCheckRow.model_name == model_name)
            .order_by(HealthCheckRow.id.desc())
            .limit(max(1, limit))
        )
        rows = list(uow.session.scalars(query).all())
        uow.session.expunge_all()
    return rows[::-1]


def rollout_series(c: Services, model_name: str, limit: int = 500) -> list[dict[str, Any]]:
    """Per judged rollout (newest last), the canary's and its baseline's figures at each tick:
    ``{"deployment_id", "baseline_id", "points": [{"at", "action", "status", "message",
    "candidate": {p50_ms, p95_ms, p99_ms, error_rate, requests}, "baseline": {...}}]}``.
    Only judgements that compared two sides count (a shadow's or an SLO's are elsewhere)."""
    found: dict[str, dict[str, Any]] = {}
    for row in _checks(c, model_name, limit):
        metrics = row.metrics or {}
        candidate, baseline = metrics.get("candidate"), metrics.get("baseline")
        if not isinstance(candidate, dict) or not isinstance(baseline, dict):
            continue
        entry = found.setdefault(
            row.deployment_id,
            {"deployment_id": row.deployment_id, "points": []},
        )
        entry["points"].append(
            {
                "at": row.checked_at,
                "action": row.action,
                "status": row.status,
                "message": row.message,
                "candidate": _side(candidate),
                "baseline": _side(baseline),
            }
        )
    return list(found.values())


def _side(figures: dict[str, Any]) -> dict[str, float]:
    side = {k: float(figures.get(k) or 0.0) for k in FIGURES}
    side["requests"] = float(figures.get("requests") or 0)
    return side


def shadow_series(c: Services, model_name: str, limit: int = 500) -> list[dict[str, Any]]:
    """Per shadow deployment, its agreement at each judgement (percent; ticks before any
    comparison are left out), the gateways' totals now and the disagreement samples they kept:
    ``{"deployment_id", "points": [{"at", "agreement", "compared"}], "compared", "agreed",
    "samples": [...]}``."""
    found: dict[str, dict[str, Any]] = {}
    for row in _checks(c, model_name, limit):
        agreement = (row.metrics or {}).get("agreement")
        if agreement is None or "compared" not in (row.metrics or {}):
            continue
        entry = found.setdefault(row.deployment_id, _shadow_entry(row.deployment_id))
        entry["points"].append(
            {
                "at": row.checked_at,
                "agreement": round(float(agreement) * 100, 3),
                "compared": int(row.metrics.get("compared") or 0),
            }
        )
    with c.reader() as uow:
        query = select(GatewayStatsRow).where(
            GatewayStatsRow.model_name == model_name, GatewayStatsRow.kind == "shadow"
        )
        for stats in uow.session.scalars(query).all():
            entry = found.setdefault(stats.deployment_id, _shadow_entry(stats.deployment_id))
            figures = stats.figures or {}
            entry["compared"] += int(figures.get("compared") or 0)
            entry["agreed"] += int(figures.get("agreed") or 0)
            samples = figures.get("disagreements") or []
            room = MAX_SAMPLES - len(entry["samples"])
            entry["samples"].extend(s for s in samples[: max(0, room)] if isinstance(s, dict))
    return list(found.values())


def _shadow_entry(deployment_id: str) -> dict[str, Any]:
    return {"deployment_id": deployment_id, "points": [], "samples": [], "compared": 0, "agreed": 0}


def latest_drift(c: Services, model_name: str) -> dict[str, Any] | None:
    """The model's latest recorded drift check with each feature's statistic and p-value, or
    None before the production watch checked it."""
    with c.reader() as uow:
        query = (
            select(DriftCheckRow)
            .where(DriftCheckRow.model_name == model_name)
            .order_by(DriftCheckRow.id.desc())
            .limit(1)
        )
        row = uow.session.scalars(query).first()
        if row is None:
            return None
        return {
            "checked_at": row.checked_at,
            "version": row.version,
            "deployment_id": row.deployment_id,
            "verdict": row.verdict,
            "summary": row.summary,
            "current_rows": row.current_rows,
            "reference_rows": row.reference_rows,
            "columns": [col for col in (row.columns or []) if isinstance(col, dict)],
        }


def recent_audit(c: Services, limit: int = 50) -> list[dict[str, Any]]:
    """The audit log's newest ``limit`` events, newest first (payloads as stored)."""
    with c.reader() as uow:
        query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(max(1, limit))
        return [
            {
                "id": row.id,
                "at": row.occurred_at,
                "actor": row.actor,
                "action": row.action,
                "subject": row.subject,
                "payload": dict(row.payload or {}),
            }
            for row in uow.session.scalars(query).all()
        ]
