"""Resources nobody can honour change nothing (issue 17), on every path, SQLite and PostgreSQL;
nor does a resize of a running deployment nobody can honour (issue 19 item 5).

A deploy asking a local backend (``DEPLOYER_SERVING=local``, the default) for CPU, memory or
autoscaling (``UnhonouredResourcesError``: the API's 409, a well-formed body the server's
backend refuses), or giving a malformed figure where it could be honoured
(``InvalidResourcesError``), is refused with exit 2 and one line before any write: no lock,
thread, row, approval or audit event; every table of the state database is as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.api import create_app
from agents.settings import Settings
from lifecycle.stages import DeploymentStatus, ModelStage
from tests.access_fixtures import issue_tokens_in_process
from tests.e2e.cli import run_here
from tests.integration.db_helpers import add_version, deployment_row
from tests.schema_template import migrated

MODEL = "churn"
LOCAL = "DEPLOYER_SERVING=ray"
"""The words of the local backend's refusal."""


@dataclass
class Home:
    env: dict[str, str]
    container: Container
    client: TestClient
    token: str

    def snapshot(self) -> dict[str, list[Any]]:
        """Every row of every table (checkpoints and locks too, once they exist)."""
        with self.container.engine.connect() as db:
            tables = sorted(inspect(db).get_table_names())
            return {t: sorted(map(repr, db.execute(text(f'SELECT * FROM "{t}"')))) for t in tables}


@pytest.fixture
def home(database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    env = {
        "DEPLOYER_HOME": str(tmp_path / "home"),
        "DEPLOYER_DATABASE_URL": database_url,
        # Nothing may reach the registry: a refusal that came too late fails fast instead.
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "COLUMNS": "400",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    settings.ensure_home()
    migrated(database_url)
    container = bootstrap(settings)
    add_version(container.session_factory, MODEL, "1", ModelStage.PRODUCTION)
    token = issue_tokens_in_process(container, {"root": "admin"})["root"]
    try:
        with TestClient(create_app(container)) as client:
            yield Home(env, container, client, token)
    finally:
        container.close()


def remote(home: Home, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    """``deployer ARGS`` in remote mode, in process, over the test client (no socket)."""
    from agents.entrypoints.cli import remote as client_module
    from agents.entrypoints.cli import remote_commands

    def client(env: Any = None) -> client_module.ApiClient:
        made = client_module.ApiClient("http://testserver", home.token)
        made._http.close()
        made._http = TestClient(home.client.app, headers={"Authorization": f"Bearer {home.token}"})
        return made

    monkeypatch.setattr(client_module.ApiClient, "from_environment", staticmethod(client))
    return CliRunner().invoke(remote_commands.app, list(args), env={"COLUMNS": "200"})


CLI_REFUSALS = [
    (("--cpu", "0.5"), {}, LOCAL),
    (("--memory", "512Mi"), {}, LOCAL),
    (("--autoscale", "1:4"), {}, LOCAL),
    (("--replicas", "17"), {}, "at most 16 workers"),
    (("--cpu", "lots"), {"DEPLOYER_SERVING": "ray"}, "cpu must"),
    (("--memory", "12XB"), {"DEPLOYER_SERVING": "ray"}, "memory must"),
    (("--autoscale", "4:1"), {"DEPLOYER_SERVING": "ray"}, "autoscale needs"),
    (("--replicas", "0"), {"DEPLOYER_SERVING": "ray"}, "replicas must"),
]


def test_the_cli_and_the_chat_refuse_what_the_backend_cannot_honour_and_change_nothing(
    home: Home,
) -> None:
    before = home.snapshot()
    for flags, env, words in CLI_REFUSALS:
        for json_flag in ((), ("--json",)):
            done = run_here("deploy", MODEL, "1", *flags, *json_flag, env={**home.env, **env})
            assert done.code == 2, (flags, done.stdout, done.stderr)
            said = done.stdout if json_flag else done.stderr
            assert words in said, (flags, said)
            if not json_flag:
                assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    for sentence, env, words in [
        (f"deploy {MODEL} v1 with 2 replicas, 0.5 cpu, 512Mi", {}, LOCAL),
        (f"deploy {MODEL} v1 with autoscale 4:1", {"DEPLOYER_SERVING": "ray"}, "autoscale needs"),
    ]:
        done = run_here("chat", sentence, env={**home.env, **env})
        assert done.code == 2 and words in done.stdout + done.stderr, (sentence, done)
    assert home.snapshot() == before


def test_the_api_and_the_remote_cli_refuse_the_same_and_change_nothing(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = home.snapshot()
    headers = {"Authorization": f"Bearer {home.token}"}
    base = {"model_name": MODEL, "version": "1"}
    for extra, status, kind, words in [
        ({"cpu": "0.5"}, 409, "UnhonouredResourcesError", LOCAL),
        ({"memory": "512Mi", "autoscale": "1:2"}, 409, "UnhonouredResourcesError", LOCAL),
        ({"autoscale": "4:1"}, 409, "UnhonouredResourcesError", LOCAL),  # local: any is refused
        ({"replicas": 17}, 409, "UnhonouredResourcesError", "at most 16 workers"),
        ({"memory": "12XB"}, 422, "RequestValidationError", "memory"),
        ({"replicas": 65}, 422, "RequestValidationError", "replicas"),
    ]:
        answer = home.client.post("/v1/deployments", json={**base, **extra}, headers=headers)
        assert answer.status_code == status, (extra, answer.text)
        error = answer.json()["error"]
        assert error["type"] == kind and words in error["message"], (extra, error)
    for flags in (("--cpu", "0.5"), ("--autoscale", "4:1"), ("--memory", "12XB")):
        done = remote(home, monkeypatch, "deploy", MODEL, "1", *flags)
        assert done.exit_code == 2, (flags, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert home.snapshot() == before
    # An unknown model is refused as every unknown model is, whatever it asks for.
    unknown = {"model_name": "nobody", "version": "1", "cpu": "0.5"}
    answer = home.client.post("/v1/deployments", json=unknown, headers=headers)
    assert answer.status_code == 404 and answer.json()["error"]["type"] == "UnknownModelError"


def test_a_resize_nobody_can_honour_changes_nothing_on_any_path(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PATCH /v1/deployments/{id} (issue 19 item 5) and its remote twin: a local endpoint
    refuses any resize, a Ray one a figure out of range, a deployment a run is changing any;
    every table is as it was."""
    headers = {"Authorization": f"Bearer {home.token}"}
    rows = {"d-local": ("local", None), "d-ray": ("ray", None), "d-busy": ("ray", "run-7")}
    for deployment_id, (backend, mark) in rows.items():
        row = deployment_row(deployment_id, DeploymentStatus.ACTIVE, MODEL, "1", "http://x:1")
        row.serving_backend, row.changing_run_id, row.replicas = backend, mark, 2
        with home.container.uow() as uow:
            uow.deployments.add(row)
            uow.commit()
    before = home.snapshot()
    for deployment_id, body, status, kind, words in [
        ("d-local", {"replicas": 3}, 409, "UnhonouredResourcesError", "--replicas 3"),
        ("d-local", {"cpu": "0.5"}, 409, "UnhonouredResourcesError", LOCAL),
        ("d-local", {"autoscale": "4:1"}, 409, "UnhonouredResourcesError", LOCAL),
        ("d-ray", {"autoscale": "1:1"}, 422, "InvalidResourcesError", "must lie within"),
        ("d-ray", {"cpu": "0"}, 422, "InvalidResourcesError", "cpu must"),
        ("d-busy", {"replicas": 3}, 409, "NotResizableError", "being changed by run run-7"),
        ("d-none", {"replicas": 3}, 404, "UnknownModelError", "d-none"),
    ]:
        answer = home.client.patch(f"/v1/deployments/{deployment_id}", json=body, headers=headers)
        assert answer.status_code == status, (deployment_id, body, answer.text)
        error = answer.json()["error"]
        assert error["type"] == kind and words in error["message"], (body, error)
    done = remote(home, monkeypatch, "deployments", "change", "d-local", "--replicas", "4")
    assert done.exit_code == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert home.snapshot() == before
