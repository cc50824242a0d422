"""What ``deployer status`` reports: schema, models by stage, and their deployments."""

from __future__ import annotations

from typing import Any

from agents.bootstrap import Container
from database import migrate
from database.models import DeploymentRow, ModelVersionRow
from lifecycle.errors import UnknownModelError


def home_status(container: Container, model_name: str | None = None) -> dict[str, Any]:
    """A JSON-ready picture of the home; an uninitialised home is reported, not created."""
    settings = container.settings
    database_url = settings.database_url
    base: dict[str, Any] = {
        "home": str(settings.home_dir),
        "database": migrate.redact(database_url),
        "mlflow_tracking_uri": settings.tracking_uri,
    }
    if database_url.startswith("sqlite") and not _sqlite_file_exists(database_url):
        migrate.parse_url(database_url)  # a malformed URL is still reported as such
        return {**base, "initialized": False, "schema_revision": None, "models": []}
    revision = migrate.current_revision(database_url)
    if revision is None:
        return {**base, "initialized": False, "schema_revision": None, "models": []}
    with container.uow() as uow:
        names = uow.models.model_names()
        if model_name is not None:
            if model_name not in names:
                raise UnknownModelError(f"no model named {model_name!r} is registered")
            names = [model_name]
        models = [_model(name, uow.models.list(name), uow.deployments.list(name)) for name in names]
    return {
        **base,
        "initialized": True,
        "schema_revision": revision,
        "up_to_date": revision == migrate.head_revision(),
        "models": models,
    }


def _model(name: str, versions: Any, deployments: Any) -> dict[str, Any]:
    by_version: dict[str, list[DeploymentRow]] = {}
    for d in deployments:
        by_version.setdefault(d.model_version, []).append(d)
    return {
        "name": name,
        "versions": [_version(v, by_version.get(v.version, [])) for v in versions],
    }


def _version(row: ModelVersionRow, deployments: list[DeploymentRow]) -> dict[str, Any]:
    return {
        "version": row.version,
        "stage": row.stage,
        "metrics": row.metrics,
        "stage_changed_at": row.stage_changed_at,
        "deployments": [
            {
                "deployment_id": d.deployment_id,
                "status": d.status,
                "strategy": d.strategy,
                "traffic_percentage": d.traffic_percentage,
                "endpoint_url": d.endpoint_url,
            }
            for d in deployments
        ],
    }


def _sqlite_file_exists(url: str) -> bool:
    from pathlib import Path

    database = migrate.parse_url(url).database or ""
    return database in ("", ":memory:") or Path(database).exists()
