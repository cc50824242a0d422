"""What ``deployer status`` reports: schema, models by stage, their deployments and health.

Each deployment carries its share of the routing table, whether it runs (its serving backend's
``placement``: replicas wanted and running, on which nodes; one call per live deployment), the
resources it asked for, the figures
the gateways measured over the last minute and a one-word verdict, so one screen answers "what
serves what, and is it well?".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from agents.ports import Services
from agents.queries.audit import last_audit_check
from database import migrate
from database.drift import DriftRepository, reference_summary
from database.models import DeploymentRow, ModelVersionRow
from database.monitor import MonitorRepository
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import UnknownModelError
from lifecycle.monitor_health import FAILED, RECOVERED
from lifecycle.ports import Routes
from lifecycle.redaction import redact_uri
from lifecycle.resources import Placement
from lifecycle.rollback import PRESETS, RollbackPreset
from lifecycle.routing import stable_of
from lifecycle.serving_aliases import aliases_for
from lifecycle.stages import LIVE_STATUSES
from lifecycle.strategies import StrategyName

DEGRADED_ERROR_RATE = PRESETS[RollbackPreset.BALANCED].error_rate_threshold
"""Above this error rate a deployment is "degraded": the default rollback threshold (1%)."""


def home_status(
    container: Services,
    model_name: str | None = None,
    sees: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """A JSON-ready picture of the home; an uninitialised home is reported, not created.
    ``sees`` (a reader's ``Grants.sees``) keeps only the models it lets the reader read."""
    settings = container.settings
    database_url = settings.database_url
    base: dict[str, Any] = {
        "home": str(settings.home_dir),
        "database": redact_uri(database_url),
        "mlflow_tracking_uri": redact_uri(settings.tracking_uri),
    }
    if database_url.startswith("sqlite") and not _sqlite_file_exists(database_url):
        migrate.parse_url(database_url)  # a malformed URL is still reported as such
        return {**base, "initialized": False, "schema_revision": None, "models": []}
    revision = migrate.current_revision(database_url)
    if revision is None:
        return {**base, "initialized": False, "schema_revision": None, "models": []}
    with container.reader() as uow:
        names = [n for n in uow.models.list_model_names() if sees is None or sees(n)]
        if model_name is not None:
            if model_name not in names:
                raise UnknownModelError(f"no model named {model_name!r} is registered")
            names = [model_name]
        rows = [(name, uow.models.list(name), uow.deployments.list(name)) for name in names]
        references = reference_summaries(uow, names)
        proposals = [p for name in names for p in slo_proposals(uow, name)]
    # Routes, PIDs and gateway figures are read after the unit of work: none of them needs its
    # transaction, and the metrics source opens sessions of its own.
    models = [_model(container, name, versions, deps) for name, versions, deps in rows]
    for model in models:  # each version's drift reference (rows, columns, source) or None
        for version in model["versions"]:
            version["reference"] = references.get((model["name"], version["version"]))
    return {
        **base,
        "initialized": True,
        "schema_revision": revision,
        "up_to_date": revision == migrate.head_revision(),
        "models": models,
        "audit": last_audit_check(container) if revision == migrate.head_revision() else None,
        "slo_proposals": proposals,
        "monitor_failures": monitor_failures(container)
        if revision == migrate.head_revision()
        else [],
    }


def monitor_failures(container: Services) -> list[dict[str, Any]]:
    """The watches whose monitor agent raised and has not worked since (``*``: every model)."""
    with container.reader() as uow:
        rows = MonitorRepository(uow.session).open_marks(FAILED, (FAILED, RECOVERED))
        return [
            {"scope": r.model_name, "failed_at": r.failed_at, "message": r.message} for r in rows
        ]


def slo_proposals(uow: Any, model_name: str) -> list[dict[str, Any]]:
    """The model's deployments in an SLO breach the monitor did not act on, each with the
    command it proposed (from its latest judgement)."""
    found = []
    for state in uow.slo.states_of(model_name):
        if state.status != "failed":
            continue
        latest = uow.health_checks.list(state.deployment_id, limit=1)
        slo = latest[-1].metrics.get("slo", {}) if latest else {}
        if slo.get("command"):
            found.append(
                {
                    "model_name": model_name,
                    "deployment_id": state.deployment_id,
                    "message": latest[-1].message,
                    "command": slo["command"],
                }
            )
    return found


def _model(
    container: Services,
    name: str,
    versions: Sequence[ModelVersionRow],
    deployments: Sequence[DeploymentRow],
) -> dict[str, Any]:
    routes = container.router.get_routes(name)
    by_version: dict[str, list[dict[str, Any]]] = {}
    for d in deployments:
        by_version.setdefault(d.model_version, []).append(_deployment(container, d, routes))
    serving = aliases_for(routes, {d.deployment_id: d.model_version for d in deployments})
    return {
        "name": name,
        "routes": _routes(routes),
        "serving_aliases": serving,
        "versions": [_version(v, by_version.get(v.version, [])) for v in versions],
    }


def _routes(routes: Routes | None) -> dict[str, Any] | None:
    if routes is None:
        return None
    return routes.table_json()


def _version(row: ModelVersionRow, deployments: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": row.version,
        "label": row.label,
        "stage": row.stage,
        "metrics": row.metrics,
        "stage_changed_at": row.stage_changed_at,
        "deployments": deployments,
    }


def _deployment(container: Services, d: DeploymentRow, routes: Routes | None) -> dict[str, Any]:
    """One deployment: its record, its place in the routing table, and how it is doing."""
    deployment_id = d.deployment_id
    is_shadow = routes is not None and routes.shadow_deployment_id == deployment_id
    live = d.status in LIVE_STATUSES
    placement = container.serving.placement(d.endpoint(), d.replicas) if live else None
    alive = placement.running > 0 and placement.healthy if placement is not None else None
    return {
        "deployment_id": deployment_id,
        "status": d.status,
        "strategy": d.strategy,
        "traffic_percentage": d.traffic_percentage,
        "endpoint_url": d.endpoint_url,
        "weight": float(routes.weights.get(deployment_id, 0.0)) if routes else 0.0,
        "mirror_percent": routes.shadow_percent if routes and is_shadow else 0.0,
        "stable": bool(routes and routes.weights and stable_of(routes) == deployment_id),
        "alive": alive,
        "replicas": _replicas(d, placement),
        "health": _health(container, deployment_id, alive) if live else None,
        # A shadow strategy's deployment keeps its comparison figures even while it is not
        # (or no longer) the table's mirror, e.g. between promotion and archiving.
        "shadow": (
            _shadow(container, deployment_id)
            if is_shadow or d.strategy == StrategyName.SHADOW.value
            else None
        ),
    }


def _replicas(d: DeploymentRow, placement: Placement | None) -> dict[str, Any]:
    """Replicas wanted, and (a live deployment) running and where, as its backend reports
    them; the CPU, memory and autoscaling it asked for (None when it asked for none)."""
    return {
        "wanted": d.replicas,
        "running": placement.running if placement is not None else None,
        "nodes": list(placement.nodes) if placement is not None else [],
        "healthy": placement.healthy if placement is not None else None,
        "detail": placement.detail if placement is not None else "",
        "cpu": d.cpu_limit,  # as stored: status shows a row it could not parse, too
        "memory": d.memory_limit,
        "autoscale": dict(d.autoscaling) if d.autoscaling else None,
    }


def _health(container: Services, deployment_id: str, alive: bool | None) -> dict[str, Any]:
    """The gateways' window figures and the verdict on them (``alive`` False means "down")."""
    m = container.metrics.metrics(deployment_id)
    return {
        "request_count": m.request_count,
        "error_count": m.error_count,
        "error_rate": m.error_rate,
        "p50_ms": m.p50_ms,
        "p95_ms": m.p95_ms,
        "p99_ms": m.p99_ms,
        "requests_per_second": m.requests_per_second,
        "verdict": health_verdict(alive, m.request_count, m.error_rate),
    }


def health_verdict(alive: bool | None, request_count: int, error_rate: float) -> str:
    """One word for a live deployment: down, idle (no requests to judge), degraded, or ok."""
    if alive is False:
        return "down"
    if request_count == 0:
        return "idle"
    if error_rate > DEGRADED_ERROR_RATE:
        return "degraded"
    return "ok"


def _shadow(container: Services, deployment_id: str) -> dict[str, Any]:
    s = container.metrics.shadow_stats(deployment_id)
    return {**asdict(s), "agreement": s.agreement}


def reference_summaries(
    uow: SqlAlchemyUnitOfWork, names: Sequence[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Each version's drift reference as status shows it, keyed by (model, version)."""
    drift = DriftRepository(uow.session)
    return {
        (r.model_name, r.version): reference_summary(r) for n in names for r in drift.references(n)
    }


def _sqlite_file_exists(url: str) -> bool:
    from pathlib import Path

    database = migrate.parse_url(url).database or ""
    return database in ("", ":memory:") or Path(database).exists()
