"""The HTTP ops API on a real home: real SQLite, the real MLflow registry, the agent's graph with
its checkpointer and store, and (once) a real ``bentoml serve`` endpoint.

One home and one app serve the whole module; each test works on a model name of its own, so the
tests do not depend on each other's order. Refusals are checked to change nothing by comparing
the state database (and MLflow, where a stage could move) before and after.
"""

from __future__ import annotations

import inspect
import itertools
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.api import (
    create_app,
    routes_alerts,
    routes_capture,
    routes_decisions,
    routes_deployments,
    routes_drift,
    routes_feedback,
    routes_models,
    routes_operations,
    routes_ops,
    routes_quotas,
    routes_retraining,
    routes_slo,
    routes_system,
    routes_tenants,
)
from agents.handlers.serving import stop_endpoint
from agents.settings import Settings
from database import migrate
from lifecycle.approval import Role
from lifecycle.ports import Routes
from lifecycle.records import utcnow
from lifecycle.retraining import Trigger
from lifecycle.stages import LIVE_STATUSES, DeploymentStatus, ModelStage
from mlops.processes import alive, find_by_env, terminate_tree
from mlops.training import train_and_log
from tests.access_fixtures import issue_tokens_in_process
from tests.integration.db_helpers import add_version, deployment_row
from tests.operations_api import follow_operation
from tests.retraining_fakes import EXAMPLE_PROJECT

TOKENS: dict[str, str] = {}
"""Each user's token, made by the module's fixture (``deployer access token create``)."""
ROLES = {"vera": "viewer", "dan": "deployer", "alice": "approver", "bob": "approver"}
ROLES["root"] = "admin"

_names = itertools.count(1)


def auth(user: str) -> dict[str, str]:
    """The Authorization header of ``user``'s token."""
    return {"Authorization": f"Bearer {TOKENS[user]}"}


@dataclass
class Api:
    """The module's home, its container and a client of the app over it."""

    home: Path
    container: Container
    client: TestClient
    model_uri: str

    def new_model(self, criteria: str = "accuracy>=0.5") -> str:
        """Register a fresh model (v1, development) through the API as dan; its name."""
        name = f"iris_{next(_names)}"
        body = {"model_uri": self.model_uri, "criteria": [criteria]}
        answer = self.client.post(f"/v1/models/{name}/versions", json=body, headers=auth("dan"))
        assert answer.status_code == 201, answer.text
        return name

    def promote(self, name: str, to: str, user: str = "dan") -> Any:
        return self.client.post(
            f"/v1/models/{name}/versions/1/promote?wait=true",
            json={"to_stage": to},
            headers=auth(user),
        )

    def to_shadow(self, name: str) -> None:
        for stage in ("staging", "shadow"):
            assert self.promote(name, stage).status_code == 200

    def snapshot(self) -> dict[str, Any]:
        """Every row a request could change, read straight from the state database."""
        tables = {
            "ml_model_registry": "model_version_id, stage",
            "ml_deployments": "deployment_id, status, traffic_percentage",
            "approvals": "approval_id, state, approver",
            "version_records": "id",
            "audit_events": "id, hash",
            "routes": "model_name, weights, shadow_deployment_id, revision",
        }
        uri = f"file:{self.home / 'deployer.db'}?mode=ro"
        with sqlite3.connect(uri, uri=True) as db:
            return {
                table: db.execute(f"SELECT {columns} FROM {table} ORDER BY 1").fetchall()
                for table, columns in tables.items()
            }

    def mlflow_stage(self, name: str) -> str:
        return self.container.registry.get_version(name, "1").stage.value

    def add_deployment(
        self, name: str, deployment_id: str, version: str, strategy: str = "direct"
    ) -> None:
        """A deployment record (no server behind it) of a version in the database."""
        row = deployment_row(deployment_id, DeploymentStatus.ACTIVE, name, version)
        row.strategy, row.target_stage = strategy, ModelStage.PRODUCTION.value
        with self.container.uow() as uow:
            uow.deployments.add(row)
            uow.commit()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A migrated home with one trained iris model logged to its MLflow store, and the app
    over it. Roles and tokens are the state database's, granted by the first admin."""
    home = tmp_path_factory.mktemp("api").resolve() / "home"
    settings = Settings(
        DEPLOYER_HOME=str(home),
        DEPLOYER_DATABASE_URL=f"sqlite:///{home / 'deployer.db'}",
        DEPLOYER_SHADOW_MIN_HOURS="0",
        DEPLOYER_GATEWAY_TOKEN="api-test-gateway-token",
    )
    settings.ensure_home()
    migrate.upgrade(settings.database_url)
    container = bootstrap(settings)
    TOKENS.update(issue_tokens_in_process(container, ROLES))
    trained = train_and_log(settings.tracking_uri, artifact_root=settings.artifact_root)
    with TestClient(create_app(container)) as client:
        yield Api(home, container, client, trained.model_uri)
    container.close()


# -- authentication and roles -------------------------------------------------------------------


def test_healthz_answers_without_a_token(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"ok": True}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token-anyone-issued"}])
def test_a_missing_or_unknown_token_is_401_with_a_bearer_challenge(
    api: Api, headers: dict[str, str]
) -> None:
    before = api.snapshot()
    for answer in (
        api.client.get("/v1/status", headers=headers),
        api.client.post("/v1/deployments", json={"nonsense": True}, headers=headers),
    ):
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json()["error"]["type"] == "NotAuthenticatedError"
    assert api.snapshot() == before


def test_a_viewer_reads_but_cannot_promote_and_nothing_changes(api: Api) -> None:
    name = api.new_model()
    for path in (
        "/v1/status",
        f"/v1/status/{name}",
        f"/v1/models/{name}/history",
        f"/v1/models/{name}/checks",
    ):
        assert api.client.get(path, headers=auth("vera")).status_code == 200
    before = api.snapshot()
    answer = api.promote(name, "staging", user="vera")
    assert answer.status_code == 403
    assert answer.json()["error"] == {
        "type": "PermissionDeniedError",
        "message": "vera holds the viewer role; this needs deployer or above",
    }
    assert api.snapshot() == before
    assert api.mlflow_stage(name) == "development"


def test_the_token_user_is_the_actor_and_a_body_cannot_name_another(api: Api) -> None:
    name = api.new_model()
    body = {"to_stage": "staging", "requested_by": "bob"}
    refused = api.client.post(
        f"/v1/models/{name}/versions/1/promote", json=body, headers=auth("dan")
    )
    assert refused.status_code == 422
    answer = api.promote(name, "staging", user="dan")
    assert answer.status_code == 200, answer.text
    assert answer.json()["version_record"]["changed_by"] == "dan"
    with api.container.uow() as uow:
        assert uow.audit.list()[-1].actor == "dan"
    # the older route goes through the supervisor too: a system thread, the deployer's step
    assert answer.json()["thread_id"].startswith("system-")
    assert answer.json()["agents"] == ["model_deployer:promoted"]


# -- approvals ------------------------------------------------------------------------------------


def test_nobody_approves_their_own_promotion_but_a_second_approver_can(api: Api) -> None:
    name = api.new_model()
    api.to_shadow(name)
    waiting = api.promote(name, "production", user="alice")
    assert waiting.status_code == 202, waiting.text
    assert waiting.json()["status"] == "awaiting_approval"
    approval_id = waiting.json()["approval_id"]
    listed = api.client.get("/v1/approvals", headers=auth("vera")).json()["approvals"]
    assert approval_id in [a["approval_id"] for a in listed]

    before = api.snapshot()
    own = api.client.post(f"/v1/approvals/{approval_id}/approve", headers=auth("alice"))
    assert own.status_code == 403
    assert own.json()["error"]["type"] == "PermissionDeniedError"
    assert "four-eyes" in own.json()["error"]["message"]
    assert api.snapshot() == before

    done = api.client.post(
        f"/v1/approvals/{approval_id}/approve", json={"comment": "ship it"}, headers=auth("bob")
    )
    assert done.status_code == 200, done.text
    record = done.json()["version_record"]
    assert (record["to_stage"], record["changed_by"]) == ("production", "bob")
    assert api.mlflow_stage(name) == "production"
    with api.container.reader() as uow:  # approvers are the state database's role bindings
        assert uow.access.holders(Role.APPROVER) >= {"alice", "bob"}


def test_a_decided_approval_cannot_be_decided_again(api: Api) -> None:
    name = api.new_model()
    api.to_shadow(name)
    approval_id = api.promote(name, "production").json()["approval_id"]
    path = f"/v1/approvals/{approval_id}"
    assert api.client.post(f"{path}/approve", headers=auth("bob")).status_code == 200
    before = api.snapshot()
    for verb, user in (("approve", "alice"), ("reject", "root")):
        again = api.client.post(f"{path}/{verb}", headers=auth(user))
        assert again.status_code == 409
        assert again.json()["error"]["type"] == "ConflictError"
    assert api.snapshot() == before


def test_a_deployer_cannot_approve_nor_reject_others_but_may_withdraw_their_own(api: Api) -> None:
    name = api.new_model()
    api.to_shadow(name)
    approval_id = api.promote(name, "production", user="alice").json()["approval_id"]
    path = f"/v1/approvals/{approval_id}"
    before = api.snapshot()
    assert api.client.post(f"{path}/approve", headers=auth("dan")).status_code == 403
    assert api.client.post(f"{path}/reject", headers=auth("dan")).status_code == 403
    assert api.client.post(f"{path}/reject", headers=auth("vera")).status_code == 403
    assert api.snapshot() == before

    other = api.new_model()
    api.to_shadow(other)
    own = api.promote(other, "production", user="dan").json()["approval_id"]
    withdrawn = api.client.post(f"/v1/approvals/{own}/reject", headers=auth("dan"))
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["approval"]["state"] == "rejected"
    assert api.mlflow_stage(other) == "shadow"


# -- refusals by the rules ----------------------------------------------------------------------


def test_a_gate_refusal_is_409_with_every_unmet_criterion_and_changes_nothing(api: Api) -> None:
    name = api.new_model(criteria="accuracy>=0.999")
    api.to_shadow(name)
    before = api.snapshot()
    refused = api.promote(name, "production")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["type"] == "ProductionCriteriaNotMetError"
    assert any("accuracy>=0.999" in reason for reason in error["unmet"])
    assert api.snapshot() == before
    assert api.mlflow_stage(name) == "shadow"


def test_an_illegal_stage_move_is_a_409_refusal_and_changes_nothing(api: Api) -> None:
    # The body is schema-valid: the version's current stage refuses it, as a gate would.
    name = api.new_model()
    before = api.snapshot()
    answer = api.promote(name, "production")
    assert answer.status_code == 409
    assert answer.json()["error"]["type"] == "InvalidPromotionPathError"
    assert api.snapshot() == before


def test_a_rollback_with_nothing_to_go_back_to_is_409(api: Api) -> None:
    name = api.new_model()
    before = api.snapshot()
    answer = api.client.post(f"/v1/models/{name}/rollback?wait=true", headers=auth("dan"))
    assert answer.status_code == 409
    assert answer.json()["error"]["type"] == "RollbackFailedError"
    assert api.snapshot() == before


# -- bad input and unknown things -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/v1/deployments", {"model_name": "m", "version": "1", "by": "bob"}, "body.by"),
        ("/v1/deployments", {"model_name": "m", "version": "1", "replicas": "many"}, "replicas"),
        ("/v1/deployments", {"model_name": "m", "version": "1", "traffic": 150}, "traffic"),
        ("/v1/deployments", {"model_name": "m", "version": "1", "strategy": "yolo"}, "strategy"),
        ("/v1/deployments", {"version": "1"}, "model_name"),
        ("/v1/deployments/any-id", None, "body"),
        ("/v1/models/m/versions/1/promote", {"to_stage": "heaven"}, "to_stage"),
        ("/v1/models/m/versions", {"model_uri": "/etc"}, "model_uri"),
    ],
)
def test_a_bad_body_is_422_in_the_error_shape_and_changes_nothing(
    api: Api, path: str, body: dict[str, Any] | None, where: str
) -> None:
    before = api.snapshot()
    method = "PATCH" if path.startswith("/v1/deployments/") else "POST"
    answer = api.client.request(method, path, json=body, headers=auth("root"))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["type"] == "RequestValidationError"
    assert where in error["message"]
    assert "\n" not in error["message"]
    assert api.snapshot() == before


def test_a_share_of_150_percent_is_refused_before_anything_is_looked_up(api: Api) -> None:
    answer = api.client.patch(
        "/v1/deployments/whatever", json={"traffic": 150}, headers=auth("dan")
    )
    assert answer.status_code == 422
    assert "less than or equal to 100" in answer.json()["error"]["message"]


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "offset=-1", "limit=ten"])
def test_bad_paging_is_422(api: Api, query: str) -> None:
    answer = api.client.get(f"/v1/deployments?{query}", headers=auth("vera"))
    assert answer.status_code == 422
    assert answer.json()["error"]["message"].startswith("query.")


def test_unknown_models_versions_deployments_and_approvals_are_404(api: Api) -> None:
    name = api.new_model()
    before = api.snapshot()
    asks = [
        ("POST", "/v1/models/nope/versions/1/promote", {"to_stage": "staging"}),
        ("POST", f"/v1/models/{name}/versions/9/promote", {"to_stage": "staging"}),
        ("POST", "/v1/models/nope/rollback", None),
        ("GET", "/v1/models/nope/history", None),
        ("GET", "/v1/models/nope/checks", None),
        ("GET", f"/v1/models/{name}/checks?deployment_id=nope", None),
        ("GET", "/v1/status/nope", None),
        ("GET", "/v1/deployments?model_name=nope", None),
        ("GET", "/v1/deployments/nope", None),
        ("PATCH", "/v1/deployments/nope", {"traffic": 10}),
        ("DELETE", "/v1/deployments/nope", None),
        ("POST", "/v1/deployments", {"model_name": "nope", "version": "1"}),
        ("POST", "/v1/approvals/apr-nope/approve", None),
    ]
    for method, path, body in asks:
        answer = api.client.request(method, path, json=body, headers=auth("root"))
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"]["type"] == "UnknownModelError"
    assert api.snapshot() == before


# -- long-running operations (issue 19) ---------------------------------------------------------


def operations_count(api: Api) -> int:
    uri = f"file:{api.home / 'deployer.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        return int(db.execute("SELECT count(*) FROM operations").fetchone()[0])


def test_a_promotion_is_accepted_at_once_and_its_operation_is_followed_to_the_end(
    api: Api,
) -> None:
    name = api.new_model()
    accepted = api.client.post(
        f"/v1/models/{name}/versions/1/promote", json={"to_stage": "staging"}, headers=auth("dan")
    )
    assert accepted.status_code == 202, accepted.text
    operation = accepted.json()
    location = accepted.headers["Location"]
    assert location == f"/v1/operations/{operation['operation_id']}" == operation["location"]
    assert (operation["kind"], operation["subject"], operation["status"]) == (
        "promote",
        name,
        "queued",
    )
    done = follow_operation(api.client, location, auth("vera"))
    # exact progress (the graph's own node events): the last node that ran, every node done
    assert (done["current_node"], done["steps_done"]) == ("supervisor", 7)
    assert (done["status"], done["error"], done["requested_by"]) == ("succeeded", None, "dan")
    assert done["result"]["version_record"]["changed_by"] == "dan"
    assert done["thread_id"] == f"system-{done['operation_id']}" and done["attempts"] == 1
    assert api.mlflow_stage(name) == "staging"
    assert api.client.get(location).status_code == 401


def test_an_operation_that_fails_shows_its_typed_error_and_changes_nothing(api: Api) -> None:
    name = api.new_model()
    before = api.snapshot()
    accepted = api.client.post(f"/v1/models/{name}/rollback", headers=auth("dan"))
    assert accepted.status_code == 202, accepted.text
    done = follow_operation(api.client, accepted.headers["Location"], auth("vera"))
    assert done["status"] == "failed" and done["finished_at"] is not None
    assert (done["error"]["type"], done["error"]["exit_code"]) == ("RollbackFailedError", 1)
    assert "\n" not in done["error"]["message"]
    assert api.snapshot() == before


def test_bad_input_is_refused_at_once_and_no_operation_is_recorded(api: Api) -> None:
    name = api.new_model()
    before, count = api.snapshot(), operations_count(api)
    for path, body, status in (
        (f"/v1/models/{name}/versions/9/promote", {"to_stage": "staging"}, 404),
        ("/v1/models/nope/rollback", None, 404),
        ("/v1/deployments", {"model_name": name, "version": "1", "cpu": "0.5"}, 409),
        ("/v1/deployments", {"model_name": name, "version": "7"}, 404),
    ):
        answer = api.client.post(path, json=body, headers=auth("dan"))
        assert answer.status_code == status, (path, answer.text)
    refused = api.client.post(
        f"/v1/models/{name}/versions/1/promote", json={"to_stage": "staging"}, headers=auth("vera")
    )
    assert refused.status_code == 403
    assert (api.snapshot(), operations_count(api)) == (before, count)
    missing = api.client.get("/v1/operations/op-nope", headers=auth("vera"))
    assert (missing.status_code, missing.json()["error"]["type"]) == (404, "UnknownOperationError")


def test_an_operation_waits_for_its_approval_and_ends_when_an_approver_answers(api: Api) -> None:
    name = api.new_model()
    api.to_shadow(name)
    accepted = api.client.post(
        f"/v1/models/{name}/versions/1/promote",
        json={"to_stage": "production"},
        headers=auth("dan"),
    )
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["Location"]
    waiting = follow_operation(api.client, location, auth("vera"))
    # paused inside the node that asked (it has not finished: not counted among those done)
    assert (waiting["current_node"], waiting["steps_done"]) == ("model_deployer/await_approval", 5)
    assert waiting["status"] == "waiting_approval", waiting
    approval_id = waiting["waiting_for"]["approval_id"]
    assert waiting["result"]["approval_id"] == approval_id
    answered = api.client.post(f"/v1/approvals/{approval_id}/approve", headers=auth("alice"))
    assert answered.status_code == 200, answered.text
    done = api.client.get(location, headers=auth("vera")).json()
    assert (done["status"], done["error"]) == ("succeeded", None)
    # the answer's resumed run was followed: where it ended, the nodes it ran counted on
    assert done["current_node"] == "supervisor" and done["steps_done"] > 5, done
    assert api.mlflow_stage(name) == "production"


# -- deployments --------------------------------------------------------------------------------


def test_the_deployment_list_pages_newest_first(api: Api) -> None:
    name = f"paged_{next(_names)}"
    add_version(api.container.session_factory, name, "1")
    ids = [f"{name}-d{n}" for n in range(7)]
    for deployment_id in ids:
        api.add_deployment(name, deployment_id, "1")
    newest_first = list(reversed(ids))

    def page(query: str) -> dict[str, Any]:
        answer = api.client.get(f"/v1/deployments?model_name={name}&{query}", headers=auth("vera"))
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    pages = [page(f"limit=3&offset={offset}") for offset in (0, 3, 6)]
    assert [[d["deployment_id"] for d in p["deployments"]] for p in pages] == [
        newest_first[0:3],
        newest_first[3:6],
        newest_first[6:],
    ]
    assert {(p["total"], p["limit"]) for p in pages} == {(7, 3)}
    assert {(d["status"], d["service_status"]) for p in pages for d in p["deployments"]} == {
        ("active", "active")
    }, "seed 002's status beside the native one"
    assert page("offset=7")["deployments"] == []
    every = api.client.get("/v1/deployments?limit=500", headers=auth("vera")).json()
    assert set(ids) <= {d["deployment_id"] for d in every["deployments"]}


def _canary(api: Api) -> tuple[str, str, str]:
    """A model whose v1 serves 90% and whose v2 is a 10% canary (records, no servers)."""
    name = f"canary_{next(_names)}"
    for version in ("1", "2"):
        add_version(api.container.session_factory, name, version, ModelStage.PRODUCTION)
    stable, canary = f"{name}-stable", f"{name}-canary"
    api.add_deployment(name, stable, "1")
    api.add_deployment(name, canary, "2", strategy="canary")
    routes = Routes(name, {stable: 90, canary: 10}, stable_deployment_id=stable)
    api.container.router.save(routes, "test")
    return name, stable, canary


def test_patch_changes_the_share_of_a_running_canary(api: Api) -> None:
    name, stable, canary = _canary(api)
    answer = api.client.patch(
        f"/v1/deployments/{canary}",
        json={"traffic": 30, "reason": "looks good"},
        headers=auth("dan"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "traffic_updated"
    routes = api.container.router.get_routes(name)
    assert routes is not None
    assert dict(routes.weights) == {stable: 70.0, canary: 30.0}
    detail = api.client.get(f"/v1/deployments/{canary}", headers=auth("vera")).json()
    assert (detail["traffic_percentage"], detail["weight"]) == (30.0, 30.0)


def test_patch_refuses_a_deployment_that_is_not_a_routed_canary_and_changes_nothing(
    api: Api,
) -> None:
    _, stable, _ = _canary(api)
    before = api.snapshot()
    answer = api.client.patch(
        f"/v1/deployments/{stable}", json={"traffic": 50}, headers=auth("dan")
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["type"] == "DeploymentNotAdjustableError"
    assert api.snapshot() == before


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"replicas": 3}, "--replicas 3"),
        ({"cpu": "0.5", "reason": "more"}, "DEPLOYER_SERVING=ray"),
        ({"traffic": 30, "autoscale": "1:4"}, "DEPLOYER_SERVING=ray"),
    ],
)
def test_patch_cannot_resize_a_local_endpoint_and_changes_nothing(
    api: Api, body: dict[str, Any], words: str
) -> None:
    _, _, canary = _canary(api)  # records on the local backend (this home serves locally)
    before = api.snapshot()
    answer = api.client.patch(f"/v1/deployments/{canary}", json=body, headers=auth("dan"))
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["type"] == "UnhonouredResourcesError" and words in error["message"]
    assert api.snapshot() == before


@pytest.mark.parametrize("body", [{}, {"reason": "x"}, {"traffic": None}, {"replicas": None}])
def test_patch_that_asks_for_nothing_is_malformed(api: Api, body: dict[str, Any]) -> None:
    _, _, canary = _canary(api)
    answer = api.client.patch(f"/v1/deployments/{canary}", json=body, headers=auth("dan"))
    assert answer.status_code == 422, answer.text


def test_patch_asking_a_local_endpoint_for_its_own_replicas_changes_only_the_share(
    api: Api,
) -> None:
    name, stable, canary = _canary(api)
    body = {"traffic": 20, "replicas": 1}
    answer = api.client.patch(f"/v1/deployments/{canary}", json=body, headers=auth("dan"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["resize"]["changed"] is False
    routes = api.container.router.get_routes(name)
    assert routes is not None and dict(routes.weights) == {stable: 80.0, canary: 20.0}


def test_delete_refuses_the_deployment_serving_users_and_changes_nothing(api: Api) -> None:
    name, stable, canary = _canary(api)
    before = api.snapshot()
    answer = api.client.delete(f"/v1/deployments/{stable}", headers=auth("root"))
    assert answer.status_code == 409
    assert answer.json()["error"]["type"] == "DeploymentInUseError"
    assert "serves" in answer.json()["error"]["message"]
    assert api.snapshot() == before
    # The canary's traffic is routed away first, through the rollback path: here its stable
    # deployment is a record without a server, so that refuses and nothing changes.
    refused = api.client.delete(f"/v1/deployments/{canary}", headers=auth("dan"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["type"] == "RollbackFailedError"
    routes = api.container.router.get_routes(name)
    assert routes is not None and dict(routes.weights) == {stable: 90.0, canary: 10.0}
    shown = api.client.get(f"/v1/deployments/{canary}", headers=auth("vera")).json()
    assert (shown["status"], shown["service_status"]) == ("active", "active")


@pytest.mark.slow
def test_a_staging_version_deployed_through_the_api_serves_and_delete_stops_it(api: Api) -> None:
    name = api.new_model()
    assert api.promote(name, "staging").status_code == 200
    try:
        accepted = api.client.post(
            "/v1/deployments", json={"model_name": name, "version": 1}, headers=auth("dan")
        )
        assert accepted.status_code == 202, accepted.text
        operation = accepted.json()
        assert accepted.headers["Location"] == f"/v1/operations/{operation['operation_id']}"
        assert (operation["kind"], operation["requested_by"]) == ("deploy", "dan")
        done = follow_operation(api.client, accepted.headers["Location"], auth("vera"))
        assert (done["status"], done["error"], done["steps_done"] > 0) == ("succeeded", None, True)
        manifest = done["manifest"]
        deployment_id = manifest["deployment_id"]
        assert (manifest["strategy"], manifest["target_stage"]) == ("direct", "staging")
        detail = api.client.get(f"/v1/deployments/{deployment_id}", headers=auth("vera")).json()
        assert (detail["status"], detail["alive"]) == ("active", True)
        assert detail["service_status"] == "active"
        predicted = httpx.post(
            f"{manifest['endpoint_url']}/predict", json={"instances": [[5.1, 3.5, 1.4, 0.2]]}
        )
        assert predicted.status_code == 200 and len(predicted.json()["predictions"]) == 1

        stopped = api.client.delete(f"/v1/deployments/{deployment_id}", headers=auth("dan"))
        assert stopped.status_code == 200, stopped.text
        assert (stopped.json()["status"], stopped.json()["alive"]) == ("rolled_back", False)
        assert stopped.json()["service_status"] == "deleted"
        assert not alive(detail["pid"])
    finally:
        left = _stop_everything_of(api, name)
    assert not left, f"servers of this home were still running: {left}"


def _stop_everything_of(api: Api, name: str) -> list[int]:
    """Stop every endpoint of ``name`` by its record, then any server process of this home
    still running (whatever a failed check left); return the PIDs that had to be killed so.

    Servers are found by this home's BentoML folder, not by a process-wide scan: other test
    sessions may run servers of their own at the same time."""
    with api.container.uow() as uow:
        live = [d.deployment_id for d in uow.deployments.list(name, LIVE_STATUSES)]
    for deployment_id in live:
        stop_endpoint(api.container, deployment_id, "test", "test cleanup")
    strays = find_by_env(BENTOML_HOME=str(api.home / "bentoml"))
    terminate_tree(None, extra=strays)
    return [p.pid for p in strays]


# -- history, audit, the OpenAPI document ----------------------------------------------------------


def test_history_shows_what_was_done_through_the_api(api: Api) -> None:
    name = api.new_model()
    api.promote(name, "staging")
    answer = api.client.get(f"/v1/models/{name}/history?limit=10", headers=auth("vera"))
    assert answer.status_code == 200
    summaries = [e["summary"] for e in answer.json()["events"] if e["kind"] == "stage"]
    assert summaries[0] == "v1 development -> staging by dan"
    assert (
        api.client.get(f"/v1/models/{name}/history?limit=0", headers=auth("vera")).status_code
        == 422
    )


def test_the_audit_check_is_a_platform_admin_s_and_counts_every_event(api: Api) -> None:
    api.new_model()
    refused = api.client.get("/v1/audit/verify", headers=auth("vera"))  # every tenant's events
    assert refused.json()["error"]["type"] == "PermissionDeniedError"
    answer = api.client.get("/v1/audit/verify", headers=auth("root"))
    assert answer.status_code == 200
    events = len(api.snapshot()["audit_events"])
    assert answer.json() == {"ok": True, "checked": events, "first_bad_id": None, "problem": ""}


EXPECTED_ROUTES = {
    ("GET", "/healthz"),
    ("POST", "/v1/deployments"),
    ("GET", "/v1/deployments"),
    ("GET", "/v1/deployments/{deployment_id}"),
    ("PATCH", "/v1/deployments/{deployment_id}"),
    ("DELETE", "/v1/deployments/{deployment_id}"),
    ("POST", "/v1/models/{name}/versions"),
    ("POST", "/v1/models/{name}/versions/{version}/promote"),
    ("POST", "/v1/models/{name}/versions/{version}/label"),
    ("POST", "/v1/models/{name}/rollback"),
    ("GET", "/v1/models/{name}/history"),
    ("GET", "/v1/models/{name}/checks"),
    ("GET", "/v1/approvals"),
    ("POST", "/v1/approvals/{approval_id}/approve"),
    ("POST", "/v1/approvals/{approval_id}/reject"),
    ("POST", "/v1/runs/{thread_id}/resume"),
    ("GET", "/v1/status"),
    ("GET", "/v1/status/{name}"),
    ("GET", "/v1/audit/verify"),
    ("GET", "/v1/whoami"),
    ("GET", "/v1/checks"),
    ("POST", "/v1/models/{name}/feedback"),
    ("GET", "/v1/models/{name}/quality"),
    ("GET", "/v1/alerts"),
    ("GET", "/v1/alert-channels"),
    ("POST", "/v1/alert-channels"),
    ("DELETE", "/v1/alert-channels/{channel_id}"),
    ("GET", "/v1/models/{name}/capture"),
    ("PUT", "/v1/models/{name}/capture"),
    ("GET", "/v1/models/{name}/drift"),
    ("GET", "/v1/models/{name}/slo"),
    ("PUT", "/v1/models/{name}/slo"),
    ("GET", "/v1/models/{name}/decisions"),
    ("GET", "/v1/models/{name}/retraining"),
    ("PUT", "/v1/models/{name}/retraining"),
    ("DELETE", "/v1/models/{name}/retraining"),
    ("POST", "/v1/models/{name}/retrain"),
    ("GET", "/v1/models/{name}/retraining/runs"),
    ("POST", "/v1/requests"),
    ("GET", "/v1/operations/{operation_id}"),
}


TENANT_ROUTES = {
    ("GET", "/v1/tenants"),
    ("POST", "/v1/tenants"),
    ("DELETE", "/v1/tenants/{name}"),
    ("GET", "/v1/quotas"),
    ("GET", "/v1/quotas/{tenant}"),
    ("PUT", "/v1/quotas/{tenant}"),
    ("DELETE", "/v1/quotas/{tenant}"),
}
TENANT_TWINS = {
    (method, path.replace("/{name}", "/{tenant}/{name}", 1))
    for method, path in EXPECTED_ROUTES
    if path.startswith(("/v1/models/{name}", "/v1/status/{name}"))
}
"""Every model route again with the model's tenant in the path (issue 19)."""


def test_whoami_answers_the_tokens_user_and_role_and_needs_a_token(api: Api) -> None:
    for user, role in ROLES.items():
        answer = api.client.get("/v1/whoami", headers=auth(user))
        scope = "*" if role == "admin" else "default"  # where a grant without a scope lands
        expected = {"user": user, "role": role, "grants": {scope: role}}
        assert (answer.status_code, answer.json()) == (200, expected)
    assert api.client.get("/v1/whoami").status_code == 401


def test_checks_of_every_model_answer_as_deployer_checks_without_a_name(api: Api) -> None:
    answer = api.client.get("/v1/checks", params={"limit": 5}, headers=auth("vera"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_name"] in ("", None) and isinstance(answer.json()["checks"], list)
    assert (
        api.client.get("/v1/checks", params={"limit": 0}, headers=auth("vera")).status_code == 422
    )


def test_the_openapi_document_has_every_route_and_the_bearer_scheme(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert spec["info"]["title"] == "model-deployer ops API" and spec["info"]["version"]
    found = {(m.upper(), path) for path, ops in spec["paths"].items() for m in ops}
    assert found == EXPECTED_ROUTES | TENANT_TWINS | TENANT_ROUTES
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A per-person token from `deployer access token create USER` (shown once).",
    }
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert (op.get("security") == [{"bearer": []}]) is (path != "/healthz"), path
    assert "swagger" in api.client.get("/docs").text.lower()


def test_every_route_is_async_so_blocking_work_runs_in_worker_threads(api: Api) -> None:
    routers = (routes_deployments.router, routes_models.router, routes_ops.router)
    routers += (routes_feedback.router, routes_slo.router, routes_capture.router)
    routers += (routes_alerts.router, routes_drift.router, routes_retraining.router)
    routers += (routes_system.router, routes_decisions.router, routes_operations.router)
    routers += (routes_tenants.router, routes_quotas.router)
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) == len(EXPECTED_ROUTES | TENANT_ROUTES)
    assert all(inspect.iscoroutinefunction(r.endpoint) for r in routes)


def test_every_route_documents_every_status_it_can_answer_in_the_error_shape(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert set(spec["components"]["schemas"]["ErrorEnvelope"]["properties"]) == {"error"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            errors = {s for s in operation["responses"] if s[0] in "45"}
            if path == "/healthz":
                assert errors == {"413", "500"}, where
            else:
                assert {"400", "401", "403", "413", "422", "500", "503"} <= errors, where
            if method != "get":
                assert {"404", "409", "502"} <= errors, where
            if "{" in path or method != "get":
                assert "404" in errors or path == "/v1/approvals", where
            for status in errors:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == envelope, (where, status)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":  # a whole-match pattern, or a bounded integer
                    schema = parameter["schema"]
                    bounded = schema.get("type") == "integer" and "maximum" in schema
                    assert bounded or schema["pattern"].startswith("^"), (where, parameter)


def test_alert_channels_are_admins_and_the_alerts_a_viewers(api: Api) -> None:
    body = {"url": "json://ops:hook-secret@127.0.0.1:9/hook", "events": "rollback,drift"}
    assert api.client.post("/v1/alert-channels", json=body, headers=auth("dan")).status_code == 403
    assert api.client.get("/v1/alert-channels", headers=auth("vera")).status_code == 403
    bad = api.client.post("/v1/alert-channels", json={"url": "nosuch://x/y"}, headers=auth("root"))
    assert bad.status_code == 404, bad.text
    assert "Apprise" in bad.json()["error"]["message"]

    added = api.client.post("/v1/alert-channels", json=body, headers=auth("root"))
    assert added.status_code == 201, added.text
    assert "hook-secret" not in added.text and added.json()["events"] == "drift,rollback"
    listed = api.client.get("/v1/alert-channels", headers=auth("root")).json()["channels"]
    assert [c["id"] for c in listed] == [added.json()["id"]] and "hook-secret" not in str(listed)
    answer = api.client.get("/v1/alerts", params={"since": "2h"}, headers=auth("vera"))
    assert answer.status_code == 200 and isinstance(answer.json()["alerts"], list)
    gone = api.client.delete(f"/v1/alert-channels/{added.json()['id']}", headers=auth("root"))
    assert gone.status_code == 200
    assert api.client.get("/v1/alert-channels", headers=auth("root")).json()["channels"] == []
    assert api.client.delete("/v1/alert-channels/1", headers=auth("root")).status_code == 404


# -- prediction capture --------------------------------------------------------------------------


def test_capture_is_read_by_viewers_changed_by_deployers_and_bad_percents_change_nothing(
    api: Api,
) -> None:
    name = api.new_model()
    path = f"/v1/models/{name}/capture"
    off = api.client.get(path, headers=auth("vera"))
    assert off.status_code == 200 and (off.json()["percent"], off.json()["captured"]) == (0.0, 0)
    assert api.client.put(path, json={"percent": 10}, headers=auth("vera")).status_code == 403
    before = api.snapshot()
    for bad in (-1, 101, "ten", None, True):
        answer = api.client.put(path, json={"percent": bad}, headers=auth("dan"))
        assert answer.status_code == 422, (bad, answer.text)
    assert api.snapshot() == before
    assert (
        api.client.put(
            "/v1/models/nobody/capture", json={"percent": 5}, headers=auth("dan")
        ).status_code
        == 404
    )
    assert api.client.get("/v1/models/nobody/capture", headers=auth("vera")).status_code == 404
    changed = api.client.put(path, json={"percent": 12.5}, headers=auth("dan"))
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"model_name": name, "percent": 12.5, "enabled": True}
    shown = api.client.get(path, headers=auth("vera")).json()
    assert (shown["percent"], shown["updated_by"]) == (12.5, "dan")
    with api.container.reader() as uow:
        event = uow.audit.list(subject=name)[-1]
        assert (event.action, event.actor) == ("capture_set", "dan")
        assert event.payload["model"] == name and event.payload["percent"] == 12.5


# -- drift --------------------------------------------------------------------------------------


def test_a_viewer_reads_the_drift_of_the_serving_version_and_nothing_changes(api: Api) -> None:
    name = api.new_model()  # its run logged its training data: that is its reference
    api.add_deployment(name, f"{name}-d1", "1")
    before = api.snapshot()
    answer = api.client.get(f"/v1/models/{name}/drift?window=30m", headers=auth("vera"))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["version"], report["verdict"], report["window_seconds"]) == (
        "1",
        "inconclusive",
        1800.0,
    )
    assert report["reference_rows"] == 105 and report["current_rows"] == 0
    assert [c["name"] for c in report["columns"]][-1] == "prediction"
    bad = api.client.get(f"/v1/models/{name}/drift?window=soon", headers=auth("vera"))
    assert bad.status_code == 422
    missing = api.client.get("/v1/models/nope/drift", headers=auth("vera"))
    assert missing.status_code == 404
    assert api.client.get(f"/v1/models/{name}/drift").status_code == 401
    assert api.snapshot() == before


def test_viewers_read_a_model_s_objectives_and_only_deployers_change_them(api: Api) -> None:
    name = api.new_model()
    url = f"/v1/models/{name}/slo"

    put = api.client.put(url, json={"p95_ms": 40, "p99_ms": None}, headers=auth("dan"))
    refused = api.client.put(url, json={"p95_ms": 10}, headers=auth("vera"))
    bad = api.client.put(url, json={"error_rate": 2}, headers=auth("dan"))
    shown = api.client.get(url, headers=auth("vera"))

    assert put.status_code == 200, put.text
    assert put.json()["overrides"] == {"p95_ms": 40.0, "p99_ms": None}
    assert refused.status_code == 403 and bad.status_code == 422
    assert shown.status_code == 200 and shown.json()["objectives"]["p95_ms"] == 40.0
    assert api.client.get("/v1/models/nosuch/slo", headers=auth("vera")).status_code == 404


def test_viewers_read_a_model_s_monitor_decisions_with_their_reasons(api: Api) -> None:
    from agents.model_monitor import InputState, MonitorDeps, run_monitor
    from lifecycle.records import utcnow
    from tests.monitor_fakes import drift_check

    name = api.new_model()
    c = api.container
    drift_check(c.uow, name, utcnow(), ("petal_width",))
    run_monitor(MonitorDeps(c.uow), InputState(model_name=name, requested_by="monitor"))
    url = f"/v1/models/{name}/decisions"

    shown = api.client.get(url, params={"limit": 5}, headers=auth("vera"))

    assert shown.status_code == 200, shown.text
    [decision] = shown.json()["decisions"]
    assert (decision["action"], decision["source"]) == ("alert", "schedule")
    assert decision["reasons"] == ["drift on 1 feature (petal_width); no retraining policy"]
    assert api.client.get("/v1/models/nosuch/decisions", headers=auth("vera")).status_code == 404
    assert api.client.get(url).status_code == 401


def test_viewers_read_a_retraining_policy_and_only_deployers_set_clear_or_retrain(api: Api) -> None:
    name = api.new_model()
    url = f"/v1/models/{name}/retraining"
    body = {"project": EXAMPLE_PROJECT, "params": {"C": "2"}, "on_drift": 2, "window": "3d"}

    none = api.client.get(url, headers=auth("vera"))
    put = api.client.put(url, json=body, headers=auth("dan"))
    refused = api.client.put(url, json=body, headers=auth("vera"))
    bad = api.client.put(url, json={**body, "entry_point": "nope"}, headers=auth("dan"))
    shown = api.client.get(url, headers=auth("vera"))

    assert none.status_code == 404 and "has no retraining policy" in none.text
    assert put.status_code == 200, put.text
    assert (put.json()["params"], put.json()["data_window_seconds"]) == ({"C": "2"}, 259200.0)
    assert refused.status_code == 403 and bad.status_code == 409
    assert shown.json() == put.json()
    # a retraining while one is active is a conflict; nothing starts
    with api.container.uow() as uow:
        uow.retraining.open_run("rt-api-busy", name, Trigger.DRIFT, "monitor", utcnow())
        uow.commit()
    busy = api.client.post(f"/v1/models/{name}/retrain", json={}, headers=auth("dan"))
    assert busy.status_code == 409, busy.text
    assert api.client.post(f"/v1/models/{name}/retrain", headers=auth("vera")).status_code == 403
    cleared = api.client.delete(url, headers=auth("dan"))
    assert cleared.json() == {"model_name": name, "cleared": True}
    assert api.client.get(url, headers=auth("vera")).status_code == 404


def test_a_retrain_is_an_operation_followed_to_its_end_and_wait_keeps_blocking(api: Api) -> None:
    """No production version to compare with: the run stops at once (no training starts) with
    a typed refusal, which is what the operation reports."""
    name = api.new_model()
    policy = {"project": EXAMPLE_PROJECT, "on_drift": 2}
    put = api.client.put(f"/v1/models/{name}/retraining", json=policy, headers=auth("dan"))
    assert put.status_code == 200, put.text
    accepted = api.client.post(
        f"/v1/models/{name}/retrain", json={"reason": "asked"}, headers=auth("dan")
    )
    assert accepted.status_code == 202, accepted.text
    operation = accepted.json()
    assert accepted.headers["Location"] == operation["location"]
    assert (operation["kind"], operation["subject"], operation["requested_by"]) == (
        "retrain",
        name,
        "dan",
    )
    run_id = operation["thread_id"]
    assert run_id.startswith("rt-") and operation["status"] in ("queued", "running")
    done = follow_operation(api.client, operation["location"], auth("vera"))
    assert (done["status"], done["error"]["type"]) == ("failed", "NoProductionVersionError")
    assert done["error"]["exit_code"] == 3 and done["finished_at"] is not None
    runs = api.client.get(f"/v1/models/{name}/retraining/runs", headers=auth("vera")).json()
    assert [(r["id"], r["requested_by"]) for r in runs["runs"]] == [(run_id, "dan")]
    assert runs["runs"][0]["status"] not in ("requested", "running")  # its run ended too
    waited = api.client.post(f"/v1/models/{name}/retrain?wait=true", headers=auth("dan"))
    assert waited.status_code == 409, waited.text  # as before operations: the refusal itself
    assert waited.json()["error"]["type"] == "NoProductionVersionError"


def remote_cli(api: Api, monkeypatch: pytest.MonkeyPatch, user: str, *args: str) -> Any:
    """``deployer ARGS`` in remote mode as ``user``, in process, against this module's app (the
    remote client over the test client's transport); the typer result."""
    from typer.testing import CliRunner

    from agents.entrypoints.cli import output, remote, remote_commands

    def client(env: Any = None) -> remote.ApiClient:
        made = remote.ApiClient("http://testserver", TOKENS[user])
        made._http.close()  # the in-process app instead, no socket (no lifespan to start)
        made._http = TestClient(api.client.app, headers=auth(user))
        return made

    monkeypatch.setattr(remote.ApiClient, "from_environment", staticmethod(client))
    # The CLI's console takes its width when its module is first imported, which in this
    # process may have been under any test's COLUMNS (80 columns wrapped a run id in a table
    # cell when pytest-xdist ran the tests in another order): a wide one for these calls.
    monkeypatch.setattr(output.console, "width", 200)
    return CliRunner().invoke(remote_commands.app, list(args), env={"COLUMNS": "200"})


def test_retraining_and_retrain_have_remote_twins_that_print_what_local_mode_does(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.handlers.retraining_policy import show_policies
    from agents.queries.retraining import runs
    from lifecycle.jsonable import jsonable

    name = api.new_model()
    twin = lambda user, *args: remote_cli(api, monkeypatch, user, *args)  # noqa: E731
    policy = ("--project", EXAMPLE_PROJECT, "--param", "C=2", "--on-drift", "2", "--window", "3d")
    bad = twin("dan", "retraining", "set", name, "--project", EXAMPLE_PROJECT, "--param", "C")
    refused = twin("vera", "retraining", "set", name, *policy)
    assert (bad.exit_code, refused.exit_code) == (2, 3), (refused.output, refused.exception)
    assert "--param takes KEY=VALUE" in bad.output and "deployer" in refused.output
    assert twin("vera", "retraining", "show", name).exit_code == 2  # no policy yet: 404
    done = twin("dan", "retraining", "set", name, *policy, "--json")
    assert done.exit_code == 0, done.output
    shown = twin("vera", "retraining", "show", name, "--json")
    assert jsonable(show_policies(api.container, name)) == json.loads(shown.output)
    table = twin("vera", "retraining", "show", name)
    assert "drift>=2" in table.output and "3d" in table.output
    with api.container.uow() as uow:
        uow.retraining.open_run("rt-remote-busy", name, Trigger.DRIFT, "monitor", utcnow())
        uow.commit()
    listed = twin("vera", "retraining", "runs", name, "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == jsonable(runs(api.container, name))
    assert "rt-remote-busy" in twin("vera", "retraining", "runs", name).output
    busy = twin("dan", "retrain", name, "--reason", "now")
    assert busy.exit_code == 3 and "already being retrained" in busy.output
    queued = twin("dan", "retrain", "--no-wait", "--json", other := api.new_model())
    assert queued.exit_code == 2 and "no retraining policy" in queued.output  # refused at once
    twin("dan", "retraining", "set", other, *policy)
    accepted = twin("dan", "retrain", other, "--no-wait", "--json")
    assert accepted.exit_code == 0 and json.loads(accepted.output)["kind"] == "retrain"
    location = json.loads(accepted.output)["location"]
    follow_operation(api.client, location, auth("vera"))  # ends refused: no production version
    followed = twin("dan", "retrain", other)
    assert followed.exit_code == 3 and "production" in followed.output, followed.output
    assert twin("vera", "retrain", name).exit_code == 3  # viewers do not retrain
    unnamed = twin("vera", "retraining", "runs")
    assert unnamed.exit_code == 2 and "name the model" in unnamed.output
    local_only = twin("dan", "retraining", "resume", "rt-remote-busy")
    assert local_only.exit_code == 2 and "is local only" in local_only.output
    cleared = twin("dan", "retraining", "clear", name, "--json")
    assert json.loads(cleared.output) == {"model_name": name, "cleared": True}
    assert twin("vera", "retraining", "show", name).exit_code == 2


# -- the system graph ----------------------------------------------------------------------------


def test_an_api_request_goes_through_the_supervisor_to_the_deployer(api: Api) -> None:
    name = api.new_model()
    body = {"action": "promote", "model_name": name, "version": "1", "to_stage": "staging"}
    answer = api.client.post("/v1/requests", json=body, headers=auth("dan"))
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert [(r["agent"], r["status"]) for r in out["results"]] == [("model_deployer", "promoted")]
    assert out["request"]["source"] == "api" and out["request"]["requested_by"] == "dan"
    assert out["results"][0]["outputs"]["version_record"]["changed_by"] == "dan"
    assert out["thread_id"].startswith("system-") and out["status"] == "completed"
    assert api.mlflow_stage(name) == "staging"

    tick = api.client.post(
        "/v1/requests", json={"action": "monitor", "model_name": name}, headers=auth("dan")
    )
    assert [r["agent"] for r in tick.json()["results"]] == ["model_deployer"]


def test_a_viewer_cannot_send_a_system_request_and_a_bad_one_changes_nothing(api: Api) -> None:
    name = api.new_model()
    before = api.snapshot()
    body = {"action": "promote", "model_name": name, "version": "1", "to_stage": "staging"}
    assert api.client.post("/v1/requests", json=body, headers=auth("vera")).status_code == 403
    for bad in (
        {"action": "launch", "model_name": name},
        {**body, "requested_by": "bob"},
        {"action": "promote", "model_name": name},
    ):
        assert api.client.post("/v1/requests", json=bad, headers=auth("dan")).status_code == 422
    assert api.snapshot() == before and api.mlflow_stage(name) == "development"


def test_remote_promote_and_rollback_follow_their_operation_and_exit_as_locally(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = api.new_model()
    twin = lambda user, *args: remote_cli(api, monkeypatch, user, *args)  # noqa: E731
    queued = twin("dan", "promote", name, "1", "--to", "staging", "--no-wait", "--json")
    assert queued.exit_code == 0, queued.output
    operation = json.loads(queued.stdout)
    assert operation["status"] == "queued" and operation["kind"] == "promote"
    done = follow_operation(api.client, operation["location"], auth("vera"))
    assert done["status"] == "succeeded"
    followed = twin("dan", "promote", name, "1", "--to", "shadow", "--json")
    assert followed.exit_code == 0, followed.output
    assert json.loads(followed.stdout)["version_record"]["to_stage"] == "shadow"
    waiting = twin("dan", "promote", name, "1", "--to", "production", "--json")
    assert waiting.exit_code == 4, waiting.output
    assert json.loads(waiting.stdout)["status"] == "awaiting_approval"
    failed = twin("dan", "rollback", name)
    assert failed.exit_code == 1, failed.output
    assert failed.stderr.count("\n") == 1 and "error:" in failed.stderr


def test_deployments_change_is_patch_s_remote_twin(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, stable, canary = _canary(api)
    twin = lambda user, *args: remote_cli(api, monkeypatch, user, *args)  # noqa: E731
    before = api.snapshot()
    nothing = twin("dan", "deployments", "change", canary)
    refused = twin("dan", "deployments", "change", canary, "--replicas", "2")
    assert (nothing.exit_code, refused.exit_code) == (2, 2), refused.output
    assert "--replicas 2" in refused.output and api.snapshot() == before
    changed = twin("dan", "deployments", "change", canary, "--traffic", "25", "--replicas", "1")
    assert changed.exit_code == 0, changed.output
    assert f"{canary}: resources unchanged" in changed.output and "share changed" in changed.output
    routes = api.container.router.get_routes(name)
    assert routes is not None and dict(routes.weights) == {stable: 75.0, canary: 25.0}
