"""What the gateways measured (``deployer traffic stats``): per deployment the window figures
merged over the gateways, per shadow its agreement. Figures are what the gateways last wrote to
the state database (every two seconds)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import select

from agents.ports import Services
from database.models import GatewayStatsRow
from lifecycle.latency import merged_metrics
from lifecycle.metrics import ShadowStats


def traffic_stats(c: Services, model_name: str | None = None) -> dict[str, Any]:
    """Per deployment: window figures merged over the gateways the metrics source counts as
    fresh (as the monitor sees them) and totals over every gateway; per shadow: agreement."""
    with c.session_factory() as session:
        query = select(GatewayStatsRow)
        if model_name is not None:
            query = query.where(GatewayStatsRow.model_name == model_name)
        rows = session.scalars(query).all()
    deployments: dict[str, list[GatewayStatsRow]] = {}
    shadows: dict[str, list[GatewayStatsRow]] = {}
    for row in rows:
        by_id = deployments if row.kind == "deployment" else shadows
        by_id.setdefault(row.deployment_id, []).append(row)
    return {
        "deployments": [_deployment(c, d, r) for d, r in sorted(deployments.items())],
        "shadows": [_shadow(d, r) for d, r in sorted(shadows.items())],
    }


def _deployment(c: Services, deployment_id: str, rows: list[GatewayStatsRow]) -> dict[str, Any]:
    window = merged_metrics([r.figures for r in c.metrics.fresh(rows)])
    return {
        "deployment_id": deployment_id,
        "model_name": rows[0].figures["model_name"],
        "requests": window.request_count,
        "errors": window.error_count,
        "error_rate": round(window.error_rate, 6),
        "p50_ms": window.p50_ms,
        "p95_ms": window.p95_ms,
        "p99_ms": window.p99_ms,
        "requests_per_second": window.requests_per_second,
        "total_requests": sum(int(r.figures["total"]["requests"]) for r in rows),
        "total_errors": sum(int(r.figures["total"]["errors"]) for r in rows),
    }


def _shadow(deployment_id: str, rows: list[GatewayStatsRow]) -> dict[str, Any]:
    total = ShadowStats.total(ShadowStats.from_figures(r.figures) for r in rows)
    return {
        "shadow_deployment_id": deployment_id,
        "model_name": rows[0].model_name,
        **asdict(total),
        "agreement": round(total.agreement, 6) if total.agreement is not None else None,
    }
