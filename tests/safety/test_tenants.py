"""Invariant: nobody reads or changes another tenant's models, and an approver approves only
inside their tenant (issue 19 items 1-5).

Two tenants each have a model named ``fraud``, registered in a real MLflow store (``team-a~fraud``
and ``team-b~fraud`` there) and a real state database, SQLite and PostgreSQL. People: ann deploys
in team-a, ada approves in team-a, bea approves in team-b, pat administers the platform. Every
route family of the ops API (in process, over the real app) and the local handler path is tried
across tenants: each attempt is a typed refusal (403, the same answer for another tenant's model
and for no model at all) and changes nothing (the footprint: versions and stages, deployments,
approvals, the audit chain's length, MLflow's aliases). Same-name models move side by side.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agents.bootstrap import Container, bootstrap
from agents.commands import Register
from agents.entrypoints.api import create_app
from agents.handlers import access, labels, registration, slo, tenants
from agents.settings import Settings, local_identity
from database.models import ApprovalRow, AuditEventRow, DeploymentRow, ModelVersionRow
from lifecycle.errors import PermissionDeniedError
from mlops.training import train_and_log
from tests.mlflow_template import seed_mlflow_store
from tests.postgres_server import create_database, drop_database
from tests.schema_template import migrated

A, B = "team-a/fraud", "team-b/fraud"
PEOPLE = {
    "ann": ("deployer", "team-a"),
    "ada": ("approver", "team-a"),
    "bea": ("approver", "team-b"),
}


@dataclass
class World:
    container: Container
    client: TestClient
    tokens: dict[str, str]
    model_uri: str

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def footprint(self) -> tuple[Any, ...]:
        """What a change could touch: versions and stages, deployments, approvals, the audit
        chain's length, and both models' aliases in MLflow."""
        with self.container.reader() as uow:
            s = uow.session
            rows = (
                sorted(s.execute(select(ModelVersionRow.model_version_id, ModelVersionRow.stage))),
                sorted(s.execute(select(DeploymentRow.deployment_id, DeploymentRow.status))),
                sorted(s.execute(select(ApprovalRow.approval_id, ApprovalRow.state))),
                s.scalar(select(func.count()).select_from(AuditEventRow)),
            )
        aliases = tuple(dict(self.container.registry.aliases(m)) for m in (A, B))
        return (*rows, aliases)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    home = tmp_path_factory.mktemp("tenants").resolve() / "home"
    pg_name = f"t_{uuid.uuid4().hex[:12]}"
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        url = create_database(server, pg_name)
    else:
        url = f"sqlite:///{home.parent / 'deployer.db'}"
    settings = Settings(
        DEPLOYER_HOME=str(home), DEPLOYER_DATABASE_URL=url, DEPLOYER_SHADOW_MIN_HOURS="0"
    )
    settings.ensure_home()
    migrated(url)
    seed_mlflow_store(settings.tracking_uri)
    container = bootstrap(settings)
    root = local_identity()
    access.ensure_first_admin(container, root)
    for tenant in ("team-a", "team-b"):
        tenants.create_tenant(container, root, tenant)
    for user, (role, tenant) in PEOPLE.items():
        access.grant(container, root, user, role, tenant=tenant)
    access.grant(container, root, "pat", "admin", platform=True)
    tokens = {u: access.create_token(container, root, u)["token"] for u in [*PEOPLE, "pat"]}
    trained = train_and_log(settings.tracking_uri, artifact_root=settings.artifact_root)
    for name in (A, B):
        command = Register(
            model_name=name, model_uri=trained.model_uri, criteria=("accuracy>=0.5",)
        )
        registration.register(container, command, root)
    with TestClient(create_app(container)) as client:
        yield World(container, client, tokens, trained.model_uri)
    container.close()
    if request.param == "postgres":
        drop_database(request.getfixturevalue("postgres_server"), pg_name)


def test_same_name_models_live_side_by_side_in_mlflow_and_the_state_database(
    world: World,
) -> None:
    with world.container.reader() as uow:
        assert {A, B} <= set(uow.models.list_model_names())
    in_mlflow = {m.name for m in world.container.registry.client.search_registered_models()}
    assert {"team-a~fraud", "team-b~fraud"} <= in_mlflow  # MLflow refuses '/' in a name
    assert set(world.container.registry.list_model_names()) >= {A, B}


CHANGES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/models/{m}/versions/1/promote?wait=true", {"to_stage": "staging"}),
    ("POST", "/v1/models/{m}/versions/1/promote", {"to_stage": "staging"}),
    ("POST", "/v1/models/{m}/rollback?wait=true", None),
    ("POST", "/v1/models/{m}/versions", {"model_uri": "runs:/abc/model"}),
    ("POST", "/v1/models/{m}/versions/1/label", {"label": "1.0.0"}),
    ("PUT", "/v1/models/{m}/slo", {"max_error_rate": 0.1}),
    ("PUT", "/v1/models/{m}/capture", {"percent": 50}),
    ("DELETE", "/v1/models/{m}/retraining", None),
    ("POST", "/v1/deployments?wait=true", {"model_name": "{m}", "version": "1"}),
    (
        "POST",
        "/v1/requests",
        {"action": "promote", "model_name": "{m}", "version": "1", "to_stage": "staging"},
    ),
]
READS = [
    "/v1/status/{m}",
    "/v1/models/{m}/history",
    "/v1/models/{m}/checks",
    "/v1/models/{m}/capture",
    "/v1/models/{m}/slo",
    "/v1/models/{m}/decisions",
    "/v1/models/{m}/retraining",
    "/v1/models/{m}/retraining/runs",
    "/v1/models/{m}/quality",
    "/v1/models/{m}/drift",
    "/v1/deployments?model_name={m}",
]


def _call(world: World, user: str, method: str, path: str, body: Any, model: str) -> Any:
    filled = path.replace("{m}", model)
    json = None
    if body is not None:
        json = {k: (v.replace("{m}", model) if isinstance(v, str) else v) for k, v in body.items()}
    return world.client.request(method, filled, json=json, headers=world.auth(user))


@pytest.mark.parametrize(
    ("method", "path", "body"), CHANGES, ids=[f"{m} {p}" for m, p, _ in CHANGES]
)
def test_a_change_to_another_tenant_s_model_is_refused_alike_and_changes_nothing(
    world: World, method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = world.footprint()
    answers = [_call(world, "ann", method, path, body, m) for m in (B, "team-b/ghost")]
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["type"] == "PermissionDeniedError"
        assert "tenant 'team-b'" in answer.json()["error"]["message"]
    assert answers[0].json() == answers[1].json()  # no hint whether team-b has the model
    assert world.footprint() == before


@pytest.mark.parametrize("path", READS)
def test_a_read_of_another_tenant_s_model_is_refused_alike(world: World, path: str) -> None:
    answers = [_call(world, "ann", "GET", path, None, m) for m in (B, "team-b/ghost")]
    assert [a.status_code for a in answers] == [403, 403], answers[0].text
    assert answers[0].json() == answers[1].json()
    own = _call(world, "ann", "GET", path, None, A)  # no policy, no reference: 404/409
    assert own.status_code in (200, 404, 409), own.text
    assert own.status_code == 200 or own.json()["error"]["type"] != "PermissionDeniedError"


def test_lists_show_only_the_reader_s_tenants(world: World) -> None:
    status = world.client.get("/v1/status", headers=world.auth("ann")).json()
    assert [m["name"] for m in status["models"]] == [A]
    everything = world.client.get("/v1/status", headers=world.auth("pat")).json()
    assert {A, B} <= {m["name"] for m in everything["models"]}
    who = world.client.get("/v1/whoami", headers=world.auth("ann")).json()
    assert who["grants"] == {"team-a": "deployer"}
    assert world.client.get("/v1/audit/verify", headers=world.auth("ann")).status_code == 403
    assert world.client.get("/v1/audit/verify", headers=world.auth("pat")).json()["ok"]
    listed = world.client.get("/v1/tenants", headers=world.auth("bea")).json()["tenants"]
    assert [t["tenant"] for t in listed] == ["team-b"]


def test_the_local_path_refuses_another_tenant_s_model_and_changes_nothing(
    world: World,
) -> None:
    c = world.container
    before = world.footprint()
    for act in (
        lambda: labels.label(c, B, "1", "1.0.0", "ann"),
        lambda: slo.set_objectives(c, "ann", B, {"max_error_rate": 0.1}),
        lambda: tenants.create_tenant(c, "ann", "team-c"),
        lambda: access.grant(c, "ann", "bea", "viewer", tenant="team-b"),
    ):
        with pytest.raises(PermissionDeniedError):
            act()
    with c.open_agent("ann") as agent, pytest.raises(PermissionDeniedError, match="team-b"):
        agent.run(
            {
                "action": "promote",
                "model_name": B,
                "version": "1",
                "target_stage": "staging",
                "requested_by": "",
            }
        )
    assert world.footprint() == before


def test_an_approver_approves_only_inside_their_tenant(world: World) -> None:
    for stage in ("staging", "shadow"):
        answer = _call(
            world,
            "ann",
            "POST",
            "/v1/models/{m}/versions/1/promote?wait=true",
            {"to_stage": stage},
            A,
        )
        assert answer.status_code == 200, answer.text
    waiting = _call(
        world,
        "ann",
        "POST",
        "/v1/models/{m}/versions/1/promote?wait=true",
        {"to_stage": "production"},
        A,
    )
    assert waiting.status_code == 202, waiting.text
    approval_id = waiting.json()["approval_id"]
    assert approval_id not in [
        a["approval_id"]
        for a in world.client.get("/v1/approvals", headers=world.auth("bea")).json()["approvals"]
    ]
    before = world.footprint()
    outsider = world.client.post(f"/v1/approvals/{approval_id}/approve", headers=world.auth("bea"))
    assert outsider.status_code == 403, outsider.text
    assert world.footprint() == before
    done = world.client.post(f"/v1/approvals/{approval_id}/approve", headers=world.auth("ada"))
    assert done.status_code == 200, done.text
    assert world.container.registry.get_version(A, "1").stage.value == "production"
    assert world.container.registry.get_version(B, "1").stage.value == "development"
    assert dict(world.container.registry.aliases(A)).get("production") == "1"
    assert "production" not in dict(world.container.registry.aliases(B))
