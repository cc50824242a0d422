"""The deployment resource of the ops API, over the existing use cases.

Reading is a plain query of the state database (a GET changes nothing: unlike ``deployer
endpoints``, it does not reap dead servers). Changing a share is a ``Deploy`` command through
``operations.execute``, replicas and resources change in place through
``handlers.resize.resize_deployment``, and stopping goes through ``serving.stop_endpoint``; what
this module
adds are the API's guards, checked before anything is touched:

- PATCH only changes the share of a live canary or shadow that the routing table names, for the
  stage its version is still in. A deploy with a share starts a *new* rollout when
  that is not so; through PATCH that would be a surprise, so it is refused (409) instead.
- DELETE refuses a deployment that alone serves its users (the stable one, or all the weight);
  a canary or a shadow has its traffic routed away first (the rollback path's ``--undo``),
  then its server stops and it reads ``deleted`` (seed 002's status).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.bootstrap import Container
from agents.commands import Deploy, Rollback
from agents.entrypoints.api.errors import DeploymentInUseError, DeploymentNotAdjustableError
from agents.handlers import operations
from agents.handlers.resize import resize_deployment
from agents.handlers.serving import stop_endpoint
from agents.queries.status import home_status
from database.models import DeploymentRow
from lifecycle.errors import UnknownModelError
from lifecycle.ports import Routes
from lifecycle.resource_asks import ResizeAsk
from lifecycle.service_status import delete_refusal, routed_away_first, service_status
from lifecycle.stages import LIVE_STATUSES
from lifecycle.strategies import StrategyName

ADJUSTABLE = (StrategyName.CANARY.value, StrategyName.SHADOW.value)
"""Strategies whose share can change after they started."""


def manifest(row: DeploymentRow) -> dict[str, Any]:
    """A deployment as the agent reports it (the seed's manifest fields), with seed 002's
    ``service_status`` (``lifecycle.service_status``) beside the native ``status``."""
    changing = row.changing_run_id is not None
    seed = service_status(row.status, changing).value
    return {**row.to_manifest().model_dump(mode="json"), "service_status": seed}


def model_of(c: Container, deployment_id: str) -> str:
    """The model a deployment serves (UnknownModelError when there is no such deployment): a
    row found by id is checked by its model's tenant."""
    with c.reader() as uow:
        return uow.deployments.get(deployment_id).model_name


def list_deployments(
    c: Container,
    model_name: str | None,
    limit: int,
    offset: int,
    sees: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """One page of deployments, newest first, with the total for paging; ``sees`` (the
    reader's ``Grants.sees``) keeps the deployments of the models it may read."""
    with c.reader() as uow:
        if model_name is not None and model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"no model named {model_name!r} is registered")
        rows = list(reversed(uow.deployments.list(model_name)))
    rows = [r for r in rows if sees is None or sees(r.model_name)]
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


def update_deployment(
    c: Container,
    deployment_id: str,
    actor: str,
    traffic: float | None,
    ask: ResizeAsk,
    reason: str,
) -> dict[str, Any]:
    """PATCH: resize in place (``handlers.resize``) and/or set a canary's or shadow's share;
    a share that cannot change is refused before any resize is made."""
    if traffic is not None:
        check_adjustable(c, deployment_id)
    resize = None if ask.empty else resize_deployment(c, deployment_id, actor, ask, reason)
    if traffic is not None:
        result = update_traffic(c, deployment_id, actor, traffic, reason)
    else:
        with c.reader() as uow:
            result = manifest(uow.deployments.get(deployment_id))
    return {**result, "resize": resize} if resize is not None else result


def check_adjustable(c: Container, deployment_id: str) -> DeploymentRow:
    """The deployment, if its share may change now; else ``DeploymentNotAdjustableError``."""
    with c.reader() as uow:
        row = uow.deployments.get(deployment_id)
        stage = uow.models.get(row.model_name, row.model_version).stage
    problem = not_adjustable(row, stage, c.router.get_routes(row.model_name))
    if problem:
        raise DeploymentNotAdjustableError(problem)
    return row


def update_traffic(
    c: Container, deployment_id: str, actor: str, traffic: float, reason: str
) -> dict[str, Any]:
    """Set the share of a running canary or shadow through the agent's deploy flow."""
    row = check_adjustable(c, deployment_id)
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
    """Delete a deployment (seed 002's DELETE): refused while it alone serves its model's
    users (``lifecycle.service_status.delete_refusal``); else its traffic is routed away
    first, through the one rollback path (``rollback --undo``), then its server is stopped
    and it is recorded as rolled back (``service_status`` deleted)."""
    with c.uow() as uow:
        row = uow.deployments.get(deployment_id)
    routes = c.router.get_routes(row.model_name)
    weights = dict(routes.weights) if routes is not None else {}
    stable = routes.stable_deployment_id if routes is not None else None
    problem = delete_refusal(deployment_id, row.model_name, weights, stable)
    if problem:
        raise DeploymentInUseError(problem)
    shadow = routes.shadow_deployment_id if routes is not None else None
    if routed_away_first(deployment_id, weights, shadow):
        away = Rollback(
            model_name=row.model_name,
            undo_deployment_id=deployment_id,
            reason="deleted through the API",
        )
        operations.execute(c, away, actor, "api")
    with c.reader() as uow:
        live = uow.deployments.get(deployment_id).status in LIVE_STATUSES
    stopped = (  # a routed one's server was stopped by the rollback path already
        stop_endpoint(c, deployment_id, actor, "deleted through the API")
        if live
        else {"alive": False}
    )
    with c.reader() as uow:
        doc = manifest(uow.deployments.get(deployment_id))
    return {**doc, **stopped, "service_status": doc["service_status"]}


def share_of(routes: Routes | None, deployment_id: str) -> str | None:
    """``"90%"`` or ``"a 100% mirror"`` when the table names the deployment, else None."""
    if routes is None:
        return None
    if deployment_id in routes.weights:
        return f"{float(routes.weights[deployment_id]):g}%"
    if routes.shadow_deployment_id == deployment_id:
        return f"a {routes.shadow_percent:g}% mirror"
    return None
