"""The gateway with tenants (issue 19): ``/v1/models/{tenant}/{name}/predict`` serves the
qualified model, the bare route the default tenant's (and only it), the admin API and the
clients take qualified names, and figures carry them. The real gateway app and the real routing
backend over a real SQLite, in process, with one aiohttp upstream answering for each tenant
(``tests.tenant_rows``). Cross-tenant refusals on both databases: tests/safety/test_tenant_paths.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from database.routing import DbRouter
from lifecycle.ports import Routes
from mlops.gateway.backend import GatewayConfig
from mlops.gateway.client import GatewayClient
from mlops.gateway.server import Gateway
from tests.integration.db_helpers import migrated_factory
from tests.tenant_rows import add_tenant_models, deployment_id, upstream_app

TOKEN = "gateway-admin-token-0123456789"
BODY = b'{"instances": [[1, 2, 3, 4]]}'
ADMIN = {"Authorization": f"Bearer {TOKEN}"}

Story = Callable[[TestClient[Any, Any], str, Gateway], Awaitable[Any]]


def run(tmp_path: Path, story: Story) -> Any:
    """``story(client, gateway_url, gateway)`` against a gateway over a fresh SQLite holding
    ``iris``, ``team-a/iris`` and ``team-b/iris``."""
    factory = migrated_factory(f"sqlite:///{tmp_path / 'deployer.db'}")

    async def main() -> Any:
        async with TestServer(upstream_app()) as upstream:
            add_tenant_models(factory, str(upstream.make_url("")).rstrip("/"))
            gateway = Gateway(DbRouter(factory), GatewayConfig(token=TOKEN, flush_interval=60))
            async with TestClient(TestServer(gateway.app())) as client:
                url = str(client.make_url("")).rstrip("/")
                return await story(client, url, gateway)

    return asyncio.run(main())


async def served_by(client: TestClient[Any, Any], path: str) -> tuple[int, Any]:
    response = await client.post(path, data=BODY)
    return response.status, await response.json()


def test_each_route_serves_its_own_tenants_model(tmp_path: Path) -> None:
    async def story(client: TestClient[Any, Any], url: str, gateway: Gateway) -> list[Any]:
        return [
            await served_by(client, path)
            for path in (
                "/v1/models/iris/predict",
                "/v1/models/default/iris/predict",
                "/v1/models/team-a/iris/predict",
                "/v1/models/team-b/iris/predict",
            )
        ]

    assert run(tmp_path, story) == [
        (200, {"served_by": "default"}),
        (200, {"served_by": "default"}),
        (200, {"served_by": "team-a"}),
        (200, {"served_by": "team-b"}),
    ]


def test_the_bare_route_never_reaches_a_tenants_model(tmp_path: Path) -> None:
    async def story(client: TestClient[Any, Any], url: str, gateway: Gateway) -> list[Any]:
        return [
            await served_by(client, path)
            for path in (
                "/v1/models/team-a%2Firis/predict",  # an encoded '/' in the one segment
                "/v1/models/team-a~iris/predict",  # the flat form is not a route's name
                "/v1/models/nope/predict",
                "/v1/models/team-a/nope/predict",
                "/v1/models/Team-A/iris/predict",  # not a tenant name
            )
        ]

    answers = run(tmp_path, story)
    assert [status for status, _ in answers] == [404] * 5
    assert {body["code"] for _, body in answers} == {"unknown_model"}


def test_the_admin_api_and_its_clients_take_qualified_names(tmp_path: Path) -> None:
    async def story(client: TestClient[Any, Any], url: str, gateway: Gateway) -> dict[str, Any]:
        bare = await (await client.get("/admin/routes/iris", headers=ADMIN)).json()
        default = await (await client.get("/admin/routes/default/iris", headers=ADMIN)).json()
        gateway_client = GatewayClient(url, TOKEN)
        try:
            team_a = await asyncio.to_thread(gateway_client.verify, "team-a/iris")
            table = Routes("team-b/iris", {deployment_id("team-b/iris"): 100.0})
            put = await asyncio.to_thread(gateway_client.put, table)
            gone = await asyncio.to_thread(gateway_client.verify, "team-c/iris")
        finally:
            gateway_client.close()
        return {"bare": bare, "default": default, "a": team_a, "put": put, "gone": gone}

    seen = run(tmp_path, story)
    assert seen["bare"] == seen["default"]
    assert seen["bare"]["live_deployments"] == [deployment_id("iris")]
    assert seen["a"]["live_deployments"] == [deployment_id("team-a/iris")]
    assert seen["put"]["revision"] == 2  # saved as team-b/iris's, on its own row
    assert seen["gone"] is None


def test_figures_carry_the_qualified_name(tmp_path: Path) -> None:
    async def story(client: TestClient[Any, Any], url: str, gateway: Gateway) -> Any:
        await served_by(client, "/v1/models/team-a/iris/predict")
        await served_by(client, "/v1/models/iris/predict")
        stats = await (await client.get("/admin/stats", headers=ADMIN)).json()
        metrics = await (await client.get("/metrics")).text()
        return stats, metrics

    stats, metrics = run(tmp_path, story)
    served = {
        d["model_name"]: d["deployment_id"] for d in stats["deployments"] if d["window"]["requests"]
    }
    assert served == {"team-a/iris": deployment_id("team-a/iris"), "iris": deployment_id("iris")}
    assert 'model="team-a/iris"' in metrics
