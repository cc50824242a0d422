"""Two tenants with a model of the same name beside the default tenant's, written to the state
DB directly (rows, not MLflow: registering qualified names is issue 19's core, done elsewhere),
and the one in-process upstream that answers for each of them with its own name.

``iris`` (default), ``team-a/iris`` and ``team-b/iris`` each get a production version 1 and a
production deployment whose URL is ``{upstream}/{tenant}``; the upstream's ``/{tenant}/predict``
answers ``{"served_by": tenant}``, so an answer says which model the gateway reached.
"""

from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from database.models import DeploymentRow
from database.routing import DbRouter
from lifecycle.ports import Routes
from lifecycle.stages import DeploymentStatus, ModelStage
from lifecycle.tenants import flat_name, tenant_of
from tests.integration.db_helpers import add_version, deployment_row

MODELS = ("iris", "team-a/iris", "team-b/iris")


def deployment_id(model: str) -> str:
    """The deployment id of ``model``'s one deployment (ids carry the flat name, never '/')."""
    return f"dep-{flat_name(model)}"


def add_tenant_models(factory: sessionmaker[Session], upstream: str | None) -> None:
    """The three models' versions, deployments and routing tables (100% to their deployment)."""
    for model in MODELS:
        add_version(factory, model, "1", ModelStage.PRODUCTION)
        with factory() as session:
            row = deployment_row(
                deployment_id(model),
                DeploymentStatus.ACTIVE,
                model,
                "1",
                None if upstream is None else f"{upstream}/{tenant_of(model)}",
                ModelStage.PRODUCTION,
            )
            row.endpoint_name = f"iris-{deployment_id(model)}"
            session.add(row)
            session.commit()
        DbRouter(factory, "tester").save(Routes(model, {deployment_id(model): 100.0}), "tester")


def upstream_app() -> web.Application:
    """One server answering for every tenant's deployment: ``/{tenant}/predict``."""

    async def predict(request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        return web.Response(body=json.dumps({"served_by": tenant}), content_type="application/json")

    app = web.Application()
    app.router.add_post("/{tenant}/predict", predict)
    return app


def point_at(factory: sessionmaker[Session], upstream: str) -> None:
    """Point every model's deployment at ``upstream``'s path for its tenant."""
    with factory() as session:
        for model in MODELS:
            row = session.get(DeploymentRow, deployment_id(model))
            assert row is not None
            row.endpoint_url = f"{upstream}/{tenant_of(model)}"
        session.commit()
