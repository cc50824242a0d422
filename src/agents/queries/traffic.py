"""What the gateways measured (``deployer traffic stats``): per deployment the window figures
merged over the gateways, per shadow its agreement. Figures are what the gateways last wrote to
the state database (every two seconds)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agents.ports import Services
from database.models import GatewayStatsRow
from lifecycle.latency import merged_metrics


def traffic_stats(c: Services, model_name: str | None = None) -> dict[str, Any]:
    """Per deployment: window figures merged over fresh gateways; per shadow: agreement."""
    with c.session_factory() as session:
        query = select(GatewayStatsRow)
        if model_name is not None:
            query = query.where(GatewayStatsRow.model_name == model_name)
        rows = session.scalars(query).all()
    deployments: dict[str, list[dict[str, Any]]] = {}
    shadows: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.kind == "deployment":
            deployments.setdefault(row.deployment_id, []).append(row.figures)
        else:
            total = shadows.setdefault(
                row.deployment_id,
                {"model_name": row.model_name, "compared": 0, "agreed": 0, "shadow_errors": 0},
            )
            for key in ("compared", "agreed", "shadow_errors"):
                total[key] += int(row.figures.get(key, 0))
    out_deployments = []
    for deployment_id, snapshots in sorted(deployments.items()):
        window = merged_metrics(snapshots)
        out_deployments.append(
            {
                "deployment_id": deployment_id,
                "model_name": snapshots[0]["model_name"],
                "requests": window.request_count,
                "errors": window.error_count,
                "error_rate": round(window.error_rate, 6),
                "p50_ms": window.p50_ms,
                "p95_ms": window.p95_ms,
                "p99_ms": window.p99_ms,
                "requests_per_second": window.requests_per_second,
                "total_requests": sum(int(s["total"]["requests"]) for s in snapshots),
                "total_errors": sum(int(s["total"]["errors"]) for s in snapshots),
            }
        )
    out_shadows = [
        {
            "shadow_deployment_id": d,
            **s,
            "agreement": round(s["agreed"] / s["compared"], 6) if s["compared"] else None,
        }
        for d, s in sorted(shadows.items())
    ]
    return {"deployments": out_deployments, "shadows": out_shadows}
