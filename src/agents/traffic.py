"""Traffic use cases behind ``deployer traffic``: read and set routing tables, read figures.

Tables are written to the state database (the source of truth); every running gateway serves a
change within a second. Figures are what the gateways last wrote there (every two seconds).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agents.bootstrap import Container
from database.models import GatewayStatsRow
from lifecycle.errors import InvalidRouteError, UnknownModelError
from lifecycle.latency import merged_metrics
from lifecycle.ports import Routes


def parse_weights(pairs: list[str]) -> dict[str, float]:
    """``["dep_a=90", "dep_b=10"]`` -> ``{"dep_a": 90.0, "dep_b": 10.0}``, or InvalidRouteError."""
    weights: dict[str, float] = {}
    for pair in pairs:
        deployment_id, sep, value = pair.partition("=")
        if not sep or not deployment_id:
            raise InvalidRouteError(f"expected DEPLOYMENT=PERCENT, got {pair!r}")
        try:
            weights[deployment_id.strip()] = float(value)
        except ValueError:
            raise InvalidRouteError(f"{value!r} is not a percentage (in {pair!r})") from None
    return weights


def show_routes(c: Container, model_name: str) -> dict[str, Any]:
    """A model's stored table; UnknownModelError if it has none and is not registered."""
    routes = c.router.get_routes(model_name)
    if routes is None:
        with c.reader() as uow:
            if model_name not in uow.models.list_model_names():
                raise UnknownModelError(f"unknown model {model_name!r}")
        return {"model_name": model_name, "weights": {}, "routed": False}
    return {**describe(routes), "routed": True}


def set_routes(
    c: Container,
    model_name: str,
    weights: dict[str, float],
    actor: str,
    shadow: str | None = None,
    shadow_percent: float = 0.0,
    stable: str | None = None,
) -> dict[str, Any]:
    """Validate and store a table (all or nothing); return it with its revision."""
    routes = Routes(model_name, weights, shadow, shadow_percent, stable)
    saved, revision = c.router.save(routes, actor)
    return {**describe(saved), "revision": revision}


def describe(routes: Routes) -> dict[str, Any]:
    return {
        "model_name": routes.model_name,
        "weights": dict(routes.weights),
        "stable_deployment_id": routes.stable_deployment_id,
        "shadow_deployment_id": routes.shadow_deployment_id,
        "shadow_percent": routes.shadow_percent,
    }


def traffic_stats(c: Container, model_name: str | None = None) -> dict[str, Any]:
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
