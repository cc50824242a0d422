"""Use cases for packages and endpoints: package, start, stop, list (with reattach), down.

Every endpoint is recorded before its process starts (status ``pending``), so a crash in the
middle leaves a record pointing at what may be running, never a process nobody knows about.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agents.handlers import quotas
from agents.handlers.model_lock import endpoint_subject, every_model, one_actor_per_model
from agents.model_deployer.aliases import move_serving_aliases
from agents.ports import Services
from database.models import DeploymentRow
from database.services import retire
from database.versions import resolve_version
from lifecycle.errors import EndpointCreationError
from lifecycle.names import make_deployment_id
from lifecycle.records import model_version_id, utcnow
from lifecycle.resources import Resources
from lifecycle.stages import LIVE_STATUSES, DeploymentStatus, change_status
from mlops.processes import terminate_tree
from mlops.serving_local import processes_of_home

log = logging.getLogger(__name__)


def package_version(
    c: Services,
    model_name: str,
    version: str,
    actor: str,
    export_dir: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Build (or reuse) the bento of a registered version (a number, a label or ``latest``);
    optionally export it."""
    with c.reader() as uow:
        number = resolve_version(uow.models, model_name, version)
    packaged = c.serving.build(model_name, number, actor, force=force)
    result: dict[str, Any] = {
        "model_name": model_name,
        "version": packaged.version,
        "bento_tag": packaged.bento_tag,
        "path": packaged.path,
        "reused": packaged.reused,
        "export_path": None,
        "export_bytes": None,
    }
    if export_dir:  # an archive that imports and serves anywhere its packages are installed
        result["export_path"] = c.packager.export(packaged.bento_tag, export_dir)
        result["export_bytes"] = Path(result["export_path"]).stat().st_size
    return result


def start_endpoint(
    c: Services,
    model_name: str,
    version: str,
    actor: str,
    workers: int = 1,
    port: int | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Package if needed, record the deployment, start the server and wait until it is ready.

    ``extra_env`` reaches the server process (fault drills: ``DEPLOYER_FAULT_*``)."""
    quotas.check_early(c, model_name, Resources(workers))  # before packaging
    packaged = package_version(c, model_name, version, actor)
    number = packaged["version"]
    deployment_id = make_deployment_id(model_name, number, uuid.uuid4().hex)
    with c.uow() as uow:
        uow.quotas.admit(model_name, Resources(workers))  # the tenant's quota, before the row
        model = uow.models.get(model_name, number)
        uow.deployments.add(
            DeploymentRow(
                deployment_id=deployment_id,
                model_version_id=model_version_id(model_name, number),
                model_name=model_name,
                model_version=number,
                experiment_id=model.experiment_id,
                target_stage=model.stage,
                endpoint_name=f"{model_name}-v{number}",
                status=DeploymentStatus.DEPLOYING.value,
                replicas=workers,
                autoscaling={},
                bento_tag=packaged["bento_tag"],
                traffic_percentage=0.0,
                deployed_by=actor,
            )
        )
        uow.commit()
    started = time.monotonic()
    try:
        endpoint = c.serving.start_with(
            deployment_id, packaged["bento_tag"], Resources(workers), port, extra_env
        )
    except BaseException as exc:
        _finish(c, deployment_id, DeploymentStatus.FAILED, actor, {"error": str(exc)})
        raise
    with c.uow() as uow:
        row = uow.deployments.get(deployment_id)
        row.serve_from(endpoint)
        row.status = change_status(DeploymentStatus(row.status), DeploymentStatus.ACTIVE).value
        row.deployment_duration_seconds = round(time.monotonic() - started, 3)
        uow.audit.append(
            actor,
            "endpoint_started",
            deployment_id,
            {"url": endpoint.url, "pid": endpoint.pid, "bento_tag": row.bento_tag},
        )
        uow.commit()
        return _describe(row, alive=True)


def _finish(
    c: Services, deployment_id: str, status: DeploymentStatus, actor: str, payload: dict[str, Any]
) -> None:
    """Record that a deployment whose server is stopped (or never started) left service."""
    with c.uow() as uow:
        retire(uow.deployments.get(deployment_id), utcnow(), status)
        uow.audit.append(actor, f"endpoint_{status.value}", deployment_id, payload)
        uow.commit()


@one_actor_per_model(endpoint_subject)
def stop_endpoint(c: Services, deployment_id: str, actor: str, reason: str) -> dict[str, Any]:
    """Stop a deployment's server (whole process tree); record it as rolled back.

    The seed's statuses have no "stopped"; an operator's stop takes the deployment's traffic back
    for good, which is what ``rolled_back`` records, and the audit event says it was a stop.
    """
    with c.uow() as uow:
        row = uow.deployments.get(deployment_id)
    c.serving.remove(row.endpoint())
    if DeploymentStatus(row.status) in LIVE_STATUSES:
        target = (
            DeploymentStatus.FAILED
            if row.status == DeploymentStatus.PENDING.value
            else DeploymentStatus.ROLLED_BACK
        )
        _finish(c, deployment_id, target, actor, {"stopped": True, "reason": reason})
    with c.uow() as uow:
        return _describe(uow.deployments.get(deployment_id), alive=False)


def list_endpoints(c: Services, actor: str) -> list[dict[str, Any]]:
    """Every recorded deployment; live records whose process died are marked failed."""
    with c.uow() as uow:
        rows = list(uow.deployments.list())
    result = []
    for row in rows:
        is_live = DeploymentStatus(row.status) in LIVE_STATUSES
        started = row.endpoint().started
        running = is_live and started and c.serving.process_alive(row.endpoint())
        if is_live and started and not running:
            c.serving.remove(row.endpoint())  # reap workers the dead server orphaned
            _finish(
                c,
                row.deployment_id,
                DeploymentStatus.FAILED,
                actor,
                {"reason": "the endpoint process is gone", "pid": row.endpoint_pid},
            )
            row.status = DeploymentStatus.FAILED.value
        result.append(_describe(row, alive=running))
    return result


@every_model("down")
def down(c: Services, actor: str) -> dict[str, Any]:
    """Stop every endpoint this home started: the recorded ones, and any process that carries
    this home's BentoML store in its environment (in case a record was lost). The routing
    tables are cleared and the serving aliases moved at once (``aliases``: each model's as
    they now read, or the error that kept them)."""
    from mlops.gateway.runner import stop_gateways

    gateways = stop_gateways(c.settings.gateway_dir)
    stopped = []
    with c.uow() as uow:
        rows = list(uow.deployments.list(statuses=LIVE_STATUSES))
    for row in rows:
        stop_endpoint(c, row.deployment_id, actor, "deployer down")
        stopped.append(row.deployment_id)
    # Nothing is left to route to: drop the tables, so a gateway started later answers 503.
    routed = [name for name in c.router.load().routes]
    for name in routed:
        c.router.clear(name, actor)
    models = sorted(set(routed) | {row.model_name for row in rows})
    aliases = {name: _aliases_after_down(c, name, actor) for name in models}
    strays = processes_of_home(str(c.settings.bentoml_home))
    terminate_tree(None, extra=strays)
    return {
        "stopped": stopped,
        "strays_stopped": [p.pid for p in strays],
        "gateways_stopped": [g["pid"] for g in gateways],
        "routes_cleared": routed,
        "aliases": aliases,
    }


def _aliases_after_down(c: Services, model_name: str, actor: str) -> dict[str, Any]:
    """Move ``model_name``'s ``@champion``/``@challenger`` now that nothing serves it (they
    would wait for a tick, and no watcher may run). Best effort, like the tick's: a failed
    move keeps the stop, and is logged and audited (``serving_aliases_not_moved``)."""
    try:
        return dict(move_serving_aliases(c.uow, c.router, c.registry, model_name))
    except Exception as exc:
        error = " ".join(str(exc).split())[:300] or type(exc).__name__
        log.warning("%s: the serving aliases were not moved after down: %s", model_name, error)
        summary = f"{model_name}'s @champion/@challenger still name what it served: {error}"
        try:
            with c.uow() as uow:
                payload = {"model": model_name, "error": error, "summary": summary}
                uow.audit.append(actor, "serving_aliases_not_moved", model_name, payload)
                uow.commit()
        except Exception:
            log.warning("%s: recording the alias failure failed", model_name, exc_info=True)
        return {"error": error}


def _describe(row: DeploymentRow, alive: bool) -> dict[str, Any]:
    return {
        "deployment_id": row.deployment_id,
        "model_name": row.model_name,
        "version": row.model_version,
        "status": row.status,
        "endpoint_url": row.endpoint_url,
        "pid": row.endpoint_pid,
        "port": row.endpoint_port,
        "bento_tag": row.bento_tag,
        "alive": alive,
        "deployed_by": row.deployed_by,
        "deployed_at": row.deployed_at,
        "deployment_duration_seconds": row.deployment_duration_seconds,
    }


__all__ = [
    "EndpointCreationError",
    "down",
    "list_endpoints",
    "package_version",
    "start_endpoint",
    "stop_endpoint",
]
