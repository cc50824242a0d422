"""The deployment resource of the ops API, over the existing use cases.

Reading is a plain query of the state database (a GET changes nothing: unlike ``deployer
endpoints``, it does not reap dead servers). Changing a share is a ``Deploy`` command through
``operations.execute`` and stopping goes through ``serving.stop_endpoint``; what this module
adds are the API's guards, checked before anything is touched:

- PATCH only changes the share of a live canary or shadow that the routing table names, for the
  stage its version is still in. A deploy with a share starts a *new* rollout when
  that is not so; through PATCH that would be a surprise, so it is refused (409) instead.
- DELETE refuses a deployment the routing table still names (a weight or the mirror): stopping
  it would leave the gateway routing to nothing. Roll back or deploy first, then stop it.
"""

from __future__ import annotations

from typing import Any

from agents.bootstrap import Container
from agents.commands import Deploy
from agents.entrypoints.api.errors import DeploymentInUseError, DeploymentNotAdjustableError
from agents.handlers import operations
from agents.handlers.serving import stop_endpoint
from agents.queries.status import home_status
from database.models import DeploymentRow
from lifecycle.errors import UnknownModelError
from lifecycle.ports import Routes
from lifecycle.stages import LIVE_STATUSES
from lifecycle.strategies import StrategyName

ADJUSTABLE = (StrategyName.CANARY.value, StrategyName.SHADOW.value)
"""Strategies whose share can change after they started."""


def manifest(row: DeploymentRow) -> dict[str, Any]:
    """A deployment as the agent reports it (the seed's manifest fields)."""
    return row.to_manifest().model_dump(mode="json")


def list_deployments(
    c: Container, model_name: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """One page of deployments, newest first, with the total for paging."""
    with c.reader() as uow:
        if model_name is not None and model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"no model named {model_name!r} is registered")
        rows = list(reversed(uow.deployments.list(model_name)))
    page = rows[offset : offset + limit]
    return {
        "deployments": [manifest(r) for r in page],
        "total": len(rows),
        "limit": limit,
        "offset": offset,
    }


def deployment_detail(c: Container, deployment_id: str) -> dict[str, Any]:
    """The manifest, the server's PID and port, and what ``deployer status`` says of it: its
    place in the routing table, whether its server runs, and the gateways' figures."""
    with c.reader() as uow:
        row = uow.deployments.get(deployment_id)
    status = home_status(c, row.model_name)
    entries = [
        d
        for model in status["models"]
        for version in model["versions"]
        for d in version["deployments"]
        if d["deployment_id"] == deployment_id
    ]
    process = {"pid": row.endpoint_pid, "port": row.endpoint_port}
    return {**manifest(row), **process, **(entries[0] if entries else {})}


def update_traffic(
    c: Container, deployment_id: str, actor: str, traffic: float, reason: str
) -> dict[str, Any]:
    """Set the share of a running canary or shadow through the agent's deploy flow."""
    with c.uow() as uow:
        row = uow.deployments.get(deployment_id)
        stage = uow.models.get(row.model_name, row.model_version).stage
    problem = not_adjustable(row, stage, c.router.get_routes(row.model_name))
    if problem:
        raise DeploymentNotAdjustableError(problem)
    command = Deploy(
        model_name=row.model_name,
        version=row.model_version,
        strategy=row.strategy,
        traffic=traffic,
        reason=reason,
    )
    return operations.execute(c, command, actor, "api")


def not_adjustable(row: DeploymentRow, stage: str, routes: Routes | None) -> str:
    """Why the share of ``row`` cannot change now ("" when it can)."""
    name = row.deployment_id
    if row.status not in LIVE_STATUSES:
        return f"{name} is {row.status}; only a running canary or shadow takes a new share"
    if row.strategy not in ADJUSTABLE:
        return (
            f"{name} is a {row.strategy} deployment; only a canary's or a shadow's share can "
            "change (deploy a canary to split traffic)"
        )
    if share_of(routes, name) is None:
        return f"{name} is not in the routing table of {row.model_name}"
    if row.target_stage != stage:
        return (
            f"{name} was deployed for {row.target_stage}, but v{row.model_version} is now in "
            f"{stage}; deploy it again"
        )
    return ""


def stop_deployment(c: Container, deployment_id: str, actor: str) -> dict[str, Any]:
    """Stop a deployment's server unless the routing table still sends it traffic."""
    with c.uow() as uow:
        row = uow.deployments.get(deployment_id)
    share = share_of(c.router.get_routes(row.model_name), deployment_id)
    if share is not None:
        raise DeploymentInUseError(
            f"{deployment_id} still takes {share} of {row.model_name}'s traffic; roll back or "
            "deploy another version first, then stop it"
        )
    return stop_endpoint(c, deployment_id, actor, "stopped through the API")


def share_of(routes: Routes | None, deployment_id: str) -> str | None:
    """``"90%"`` or ``"a 100% mirror"`` when the table names the deployment, else None."""
    if routes is None:
        return None
    if deployment_id in routes.weights:
        return f"{float(routes.weights[deployment_id]):g}%"
    if routes.shadow_deployment_id == deployment_id:
        return f"a {routes.shadow_percent:g}% mirror"
    return None
