"""Tenant isolation on the paths outside the ops API (issue 19 item 2): the gateway, the web
dashboard, the chat and the alerts. Each test tries to reach another tenant's model, approval or
alert and asserts the refusal (typed, or answered exactly as for something that does not exist)
and that nothing changed, on SQLite and PostgreSQL.

The models are rows (``tests.tenant_rows``: ``iris``, ``team-a/iris``, ``team-b/iris``), not
MLflow registrations; the people: ann (deployer in team-a), alex (approver in team-a), bea
(approver in team-b), vera (viewer in default), root (platform admin).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient as AioClient
from aiohttp.test_utils import TestServer
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agents.alerting import Dispatcher
from agents.bootstrap import Container, bootstrap
from agents.entrypoints.api import create_app
from agents.entrypoints.chat.chat import answer
from agents.handlers import alerts
from agents.settings import Settings
from database import migrate
from database.models import ApprovalRow, AuditEventRow, DeploymentRow, RouteRow
from database.models_alerts import AlertRow
from database.routing import DbRouter
from lifecycle.approval import Role
from lifecycle.errors import BadInputError, PermissionDeniedError
from lifecycle.tenant_views import local_reader
from lifecycle.tenants import PLATFORM
from mlops.gateway.backend import GatewayConfig
from mlops.gateway.server import Gateway
from tests.alert_fakes import FakeNotifier
from tests.postgres_server import PostgresServer, create_database, drop_database
from tests.tenant_rows import add_tenant_models, point_at, upstream_app
from tests.web_login import ui_login

PEOPLE = {
    "ann": ("team-a", Role.DEPLOYER),
    "alex": ("team-a", Role.APPROVER),
    "bea": ("team-b", Role.APPROVER),
    "vera": ("default", Role.VIEWER),
    "root": (PLATFORM, Role.ADMIN),
}
APPROVALS = {"team-a/iris": "ap-team-a", "team-b/iris": "ap-team-b", "iris": "ap-default"}


@dataclass
class World:
    container: Container
    app: Any
    tokens: dict[str, str]

    def browser(self, user: str) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        answer = ui_login(client, self.tokens[user])
        assert answer.status_code == 303, answer.text
        return client

    def snapshot(self) -> dict[str, Any]:
        """What a refused action must not change."""
        with self.container.reader() as uow:
            s = uow.session
            return {
                "approvals": s.execute(
                    select(ApprovalRow.approval_id, ApprovalRow.state).order_by(
                        ApprovalRow.approval_id
                    )
                ).all(),
                "deployments": s.execute(
                    select(DeploymentRow.deployment_id, DeploymentRow.status).order_by(
                        DeploymentRow.deployment_id
                    )
                ).all(),
                "routes": s.execute(
                    select(RouteRow.model_name, RouteRow.revision).order_by(RouteRow.model_name)
                ).all(),
                "audit": s.scalar(select(func.count(AuditEventRow.id))),
            }


def _url(request: pytest.FixtureRequest, home: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{home / 'deployer.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield create_database(server, name)
    drop_database(server, name)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    home = tmp_path_factory.mktemp("tenants").resolve() / "home"
    urls = _url(request, home)
    url = next(urls)
    settings = Settings(DEPLOYER_HOME=str(home), DEPLOYER_DATABASE_URL=url)
    settings.ensure_home()
    migrate.upgrade(settings.database_url)
    container = bootstrap(settings)
    add_tenant_models(container.session_factory, None)
    tokens = {}
    with container.uow() as uow:
        for tenant in ("team-a", "team-b"):
            uow.access.add_tenant(tenant, "root")
        for user, (tenant, role) in PEOPLE.items():
            uow.access.grant(user, role, "root", tenant)
            tokens[user] = uow.access.add_token(user, "root")[1]
        for model, approval_id in APPROVALS.items():
            uow.session.add(
                ApprovalRow(
                    approval_id=approval_id,
                    model_name=model,
                    version="1",
                    target_stage="production",
                    requested_by="ann",
                    reason=f"ship {model}",
                )
            )
        uow.audit.append("ann", "promote.requested", "team-b/iris/1", {"secret": "team-b's"})
        uow.commit()
    app = create_app(container)
    with TestClient(app):
        yield World(container, app, tokens)
    container.close()
    next(urls, None)


def models_on(html: str) -> set[str]:
    return set(re.findall(r'href="/ui/models/([^"]+)"', html))


# -- the web dashboard -----------------------------------------------------------------------


def test_each_page_shows_only_the_tenants_a_person_sees(world: World) -> None:
    ann = world.browser("ann")
    assert models_on(ann.get("/ui/").text) == {"team-a/iris"}
    approvals = ann.get("/ui/approvals").text
    assert "ap-team-a" in approvals and "ap-team-b" not in approvals
    assert "ap-default" not in approvals
    assert models_on(world.browser("vera").get("/ui/").text) == {"iris"}
    assert models_on(world.browser("root").get("/ui/").text) == {
        "iris",
        "team-a/iris",
        "team-b/iris",
    }
    audit = ann.get("/ui/audit").text
    assert "team-b/iris/1" not in audit and "team-b&#39;s" not in audit
    assert "team-b/iris/1" in world.browser("root").get("/ui/audit").text


def test_another_tenants_model_page_is_answered_as_an_unknown_model(world: World) -> None:
    ann = world.browser("ann")
    theirs = ann.get("/ui/models/team-b/iris")
    missing = ann.get("/ui/models/team-b/no_such_model")
    assert theirs.status_code == missing.status_code == 404
    assert "no model named &#39;team-b/iris&#39; is registered" in theirs.text
    assert ann.get("/ui/models/iris").status_code == 404  # the default tenant is a tenant too
    assert ann.get("/ui/models/team-a/iris").status_code == 200
    assert ann.get("/ui/models/default/iris").status_code == 404


def test_an_approver_approves_only_inside_their_tenant(world: World) -> None:
    alex = world.browser("alex")
    page = alex.get("/ui/approvals").text
    assert 'action="/ui/approvals/ap-team-a/approve"' in page
    assert "ap-team-b" not in page
    csrf = re.findall(r'name="csrf" value="([^"]+)"', page)[0]
    before = world.snapshot()
    answer = alex.post("/ui/approvals/ap-team-b/approve", data={"csrf": csrf})
    assert answer.status_code == 404 and "no approval &#39;ap-team-b&#39;" in answer.text
    refused = alex.post("/ui/models/team-b/iris/rollback", data={"csrf": csrf, "reason": "theirs"})
    assert refused.status_code == 404
    ann = world.browser("ann")  # a deployer in team-a: approving there is an approver's
    csrf = re.findall(r'name="csrf" value="([^"]+)"', ann.get("/ui/approvals").text)[0]
    own = ann.post("/ui/approvals/ap-team-a/approve", data={"csrf": csrf})
    assert own.status_code == 403 and "PermissionDenied" not in own.text
    assert "holds the deployer role in tenant &#39;team-a&#39;" in own.text
    assert world.snapshot() == before
    bea = world.browser("bea")  # team-b's approver sees and may decide team-b's
    assert 'action="/ui/approvals/ap-team-b/approve"' in bea.get("/ui/approvals").text


def test_a_revoked_tenant_role_counts_on_the_next_request(world: World) -> None:
    vera = world.browser("vera")
    with world.container.uow() as uow:
        uow.access.grant("vera", Role.VIEWER, "root", "team-b")
        uow.commit()
    assert models_on(vera.get("/ui/").text) == {"iris", "team-b/iris"}
    with world.container.uow() as uow:
        uow.access.revoke("vera", Role.VIEWER, "team-b")
        uow.commit()
    assert models_on(vera.get("/ui/").text) == {"iris"}
    assert vera.get("/ui/models/team-b/iris").status_code == 404


# -- the gateway -----------------------------------------------------------------------------


def test_the_gateway_keeps_tenants_apart_and_its_admin_api_refuses_a_persons_token(
    world: World, tmp_path: Path
) -> None:
    """Prediction routes reach only the model their path names; the admin API is the control
    plane's (the gateway's token), never a tenant user's API token, and a refusal changes no
    table."""
    factory = world.container.session_factory
    token = "gateway-admin-token-0123456789"

    async def story() -> dict[str, Any]:
        async with TestServer(upstream_app()) as upstream:
            base = str(upstream.make_url("")).rstrip("/")
            point_at(factory, base)
            gateway = Gateway(DbRouter(factory), GatewayConfig(token=token, flush_interval=60))
            async with AioClient(TestServer(gateway.app())) as client:
                seen: dict[str, Any] = {}
                for path in ("team-a/iris", "team-b/iris", "iris", "team-a%2Firis"):
                    answer = await client.post(f"/v1/models/{path}/predict", data=b"{}")
                    seen[path] = (answer.status, await answer.json())
                body = {"weights": {"dep-team-b~iris": 100}}
                for user in ("ann", "root"):
                    bearer = {"Authorization": f"Bearer {world.tokens[user]}"}
                    put = await client.put("/admin/routes/team-b/iris", json=body, headers=bearer)
                    get = await client.get("/admin/routes/team-b/iris", headers=bearer)
                    seen[user] = (put.status, get.status)
                return seen

    before = world.snapshot()
    seen = asyncio.run(story())
    assert seen["team-a/iris"] == (200, {"served_by": "team-a"})
    assert seen["team-b/iris"] == (200, {"served_by": "team-b"})
    assert seen["iris"] == (200, {"served_by": "default"})
    assert seen["team-a%2Firis"][0] == 404
    assert seen["ann"] == seen["root"] == (401, 401)
    assert world.snapshot() == before


# -- the chat --------------------------------------------------------------------------------


def test_the_chat_answers_another_tenants_model_as_an_unknown_one(world: World) -> None:
    before = world.snapshot()
    theirs = answer(world.container, "roll back team-b/iris because theirs", "ann")
    missing = answer(world.container, "roll back team-c/iris because theirs", "ann")
    assert theirs.exit_code == missing.exit_code == 2
    assert theirs.reply == missing.reply.replace("team-c/iris", "team-b/iris")
    assert "team-b/iris" not in str(answer(world.container, "status team-b/ir", "ann").reply)
    everything = answer(world.container, "status", "ann")
    assert [m["name"] for m in everything.result["models"]] == ["team-a/iris"]
    assert "team-a/iris" in answer(world.container, "status team-a/iris", "ann").reply
    for question in ("is {} drifting?", "retrain {} because theirs"):
        theirs = answer(world.container, question.format("team-b/iris"), "ann").as_dict()
        missing = answer(world.container, question.format("team-c/iris"), "ann").as_dict()
        assert str(theirs) == str(missing).replace("team-c/iris", "team-b/iris")
        assert theirs["exit_code"] == 2 and theirs["request"]["kind"] in ("drift", "retrain")
    assert world.snapshot() == before


# -- alerts ----------------------------------------------------------------------------------


def test_a_tenants_alerts_reach_only_its_channels_and_its_people(world: World) -> None:
    c = world.container
    with pytest.raises(PermissionDeniedError):  # a deployer is not team-a's admin
        alerts.add_channel(c, "ann", "json://127.0.0.1:9/ann", tenant="team-a")
    with pytest.raises(BadInputError):
        alerts.add_channel(c, "root", "json://127.0.0.1:9/c", tenant="team-c")
    assert alerts.list_channels(c) == []
    urls = {scope: f"json://127.0.0.1:9/{scope}" for scope in ("platform", "team-a", "team-b")}
    ids = {
        scope: alerts.add_channel(c, "root", url, tenant=None if scope == "platform" else scope)[
            "id"
        ]
        for scope, url in urls.items()
    }
    with c.uow() as uow:
        for model in ("team-a/iris", "team-b/iris"):
            uow.audit.append("ann", "approval_requested", f"{model}/1", {"approval_id": "x"})
        uow.commit()
    Dispatcher(c, FakeNotifier()).collect()
    with c.reader() as uow:
        told = {(row.channel_id, row.model_name) for row in uow.session.scalars(select(AlertRow))}
    assert told == {
        (ids["platform"], "team-a/iris"),
        (ids["platform"], "team-b/iris"),
        (ids["team-a"], "team-a/iris"),
        (ids["team-b"], "team-b/iris"),
    }
    with c.reader() as uow:
        ann = local_reader(uow.access.grants_of("ann"))
        vera = local_reader(uow.access.grants_of("vera"))
        root = uow.access.grants_of("root")
    assert {a["model"] for a in alerts.alert_history(c, "1d", ann)} == {"team-a/iris"}
    assert alerts.alert_history(c, "1d", vera) == []
    assert len(alerts.alert_history(c, "1d", root)) == 4
    assert [ch["tenant"] for ch in alerts.list_channels(c, ann)] == ["team-a"]
    said = answer(c, "what alerts fired today?", "ann")
    assert {a["model"] for a in said.result["alerts"]} == {"team-a/iris"}
    assert "team-b" not in said.reply
