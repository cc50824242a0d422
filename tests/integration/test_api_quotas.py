"""``/v1/quotas/{tenant}`` and a deploy over quota through the ops API, over a real SQLite home
(issue 19 item 3): admins set and clear, viewers read used and allowed, every refusal changes
nothing, and ``POST /v1/deployments`` over its tenant's quota is refused 409 at once with what is
used, what it needs and what is allowed: no operation, no deployment, no audit event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.api import create_app
from agents.settings import Settings
from database.models import AuditEventRow, DeploymentRow
from database.models_operations import OperationRow
from lifecycle.approval import Role
from tests.access_fixtures import issue_tokens_in_process
from tests.e2e.cli import run_here
from tests.integration.db_helpers import add_version
from tests.remote_in_process import remote_cli
from tests.schema_template import migrated

ROLES = {"ada": "admin", "vera": "viewer", "dan": "deployer"}


class Api:
    def __init__(self, container: Container, client: TestClient, tokens: dict[str, str]) -> None:
        self.container, self.client, self.tokens = container, client, tokens

    def call(self, method: str, path: str, user: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return self.client.request(method, path, json=body, headers=headers)

    def written(self) -> tuple[int, int, int, list[Any]]:
        """Operations, deployments and audit events counted, and every quota row."""
        with self.container.reader() as uow:
            counts = [
                uow.session.scalar(select(func.count()).select_from(table))
                for table in (OperationRow, DeploymentRow, AuditEventRow)
            ]
            quotas = [(r.tenant, r.quota()) for r in uow.quotas.all()]
        return int(counts[0] or 0), int(counts[1] or 0), int(counts[2] or 0), quotas


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Api]]:
    home = tmp_path_factory.mktemp("quota-api").resolve() / "home"
    settings = Settings(
        DEPLOYER_HOME=str(home), DEPLOYER_DATABASE_URL=f"sqlite:///{home / 'deployer.db'}"
    )
    settings.ensure_home()
    migrated(settings.database_url)
    container = bootstrap(settings)
    tokens = issue_tokens_in_process(container, ROLES)
    with container.uow() as uow:  # a quota is a tenant's: both exist; vera reads team-a
        uow.access.add_tenant("team-a", "ada")
        uow.access.add_tenant("team-b", "ada")
        uow.access.grant("vera", Role.VIEWER, "ada", "team-a")
        uow.commit()
    add_version(container.session_factory, "iris", "1")
    with TestClient(create_app(container)) as client:
        yield settings, Api(container, client, tokens)
    container.close()


@pytest.fixture
def api(home: tuple[Settings, Api]) -> Iterator[Api]:
    yield home[1]
    home[1].call("DELETE", "/v1/quotas/default", "ada")
    home[1].call("DELETE", "/v1/quotas/team-a", "ada")


def test_an_admin_sets_a_quota_and_a_viewer_reads_used_and_allowed(api: Api) -> None:
    body = {"deployments": 3, "replicas": 6, "cpu": "4", "memory": "8Gi", "capture_rows": 1000}
    put = api.call("PUT", "/v1/quotas/team-a", "ada", body)
    assert put.status_code == 200, put.text
    got = api.call("GET", "/v1/quotas/team-a", "vera")
    assert got.status_code == 200, got.text
    assert got.json()["figures"] == {
        "deployments": {"used": 0, "allowed": 3},
        "replicas": {"used": 0, "allowed": 6},
        "cpu": {"used": "0", "allowed": "4"},
        "memory": {"used": "0", "allowed": "8Gi"},
        "capture_rows": {"used": 0, "allowed": 1000},
    }
    assert got.json()["set_by"] == "ada"
    assert [q["tenant"] for q in api.call("GET", "/v1/quotas", "vera").json()["quotas"]] == [
        "team-a"
    ]
    # dan holds no role in team-a: its quota is refused as a tenant that does not exist
    assert api.call("GET", "/v1/quotas/team-a", "dan").status_code == 404
    assert api.call("GET", "/v1/quotas", "dan").json() == {"quotas": []}
    unknown = api.call("PUT", "/v1/quotas/team-z", "ada", {"deployments": 1})
    assert unknown.status_code == 404 and "no tenant named 'team-z'" in unknown.text
    cleared = api.call("DELETE", "/v1/quotas/team-a", "ada")
    assert cleared.json()["changed"] is True
    assert api.call("GET", "/v1/quotas/team-a", "vera").json()["figures"]["cpu"]["allowed"] is None


@pytest.mark.parametrize("user", ["vera", "dan"])
def test_only_an_admin_sets_or_clears_a_quota_and_a_refusal_changes_nothing(
    api: Api, user: str
) -> None:
    api.call("PUT", "/v1/quotas/team-a", "ada", {"deployments": 2})
    before = api.written()
    assert api.call("PUT", "/v1/quotas/team-a", user, {"deployments": 9}).status_code == 403
    assert api.call("DELETE", "/v1/quotas/team-a", user).status_code == 403
    assert api.written() == before


def test_a_deploy_over_quota_is_refused_409_at_once_and_nothing_is_written(api: Api) -> None:
    api.call("PUT", "/v1/quotas/default", "ada", {"deployments": 0})
    before = api.written()

    answer = api.call("POST", "/v1/deployments", "dan", {"model_name": "iris", "version": "1"})

    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["type"] == "QuotaExceededError"
    assert error["message"] == (
        "tenant default: 0 of 0 deployments are in use; this deploy needs 1 more"
    )
    assert api.written() == before, "no operation, no deployment, no audit event"


def test_the_cli_sets_shows_and_clears_a_quota(home: tuple[Settings, Api]) -> None:
    settings, api = home
    env = {
        "DEPLOYER_HOME": settings.home.as_posix(),
        "DEPLOYER_DATABASE_URL": settings.database_url,
    }
    done = run_here("quota", "set", "team-b", "--replicas", "4", "--memory", "2Gi", env=env)
    assert done.code == 0, done.stderr
    shown = run_here("quota", "show", "team-b", env=env)
    assert "replicas" in shown.stdout and "2Gi" in shown.stdout and "unlimited" in shown.stdout
    bad = run_here("quota", "set", "team-b", "--cpu", "lots", env=env)
    assert bad.code == 2 and "a CPU quota must be a number" in bad.stderr
    empty = run_here("quota", "set", "team-b", env=env)
    assert empty.code == 2 and "needs at least one limit" in empty.stderr
    assert run_here("quota", "clear", "team-b", env=env).code == 0
    assert api.call("GET", "/v1/quotas", "vera").json() == {"quotas": []}


def test_remote_mode_sets_shows_and_clears_through_the_api(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``deployer quota`` in remote mode (in process), its requests served by the app."""
    remote = remote_cli(api.client, monkeypatch)

    def cli(user: str, *args: str) -> Any:
        return remote(api.tokens[user], "quota", *args)

    before = api.written()
    refused = cli("dan", "set", "team-a", "--deployments", "2")
    assert refused.exit_code == 3 and "admin" in refused.output, refused.output
    assert api.written() == before
    done = cli("ada", "set", "team-a", "--deployments", "2", "--cpu", "8", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["figures"]["cpu"] == {"used": "0", "allowed": "8"}
    every = cli("vera", "show", "--json")
    assert [q["tenant"] for q in json.loads(every.output)] == ["team-a"]
    assert "unlimited" in cli("vera", "show", "team-a").output
    assert cli("ada", "clear", "team-a").output.strip() == "quota of team-a cleared"


def test_remote_mode_creates_lists_and_deletes_tenants_through_the_api(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``deployer tenant`` in remote mode (in process) over ``/v1/tenants``: a platform admin's,
    a refusal changes nothing, and a list shows only the reader's tenants."""
    remote = remote_cli(api.client, monkeypatch)

    def cli(user: str, *args: str) -> Any:
        return remote(api.tokens[user], "tenant", *args)

    def tenants(user: str) -> list[str]:
        listed = cli(user, "list", "--json")
        assert listed.exit_code == 0, listed.output
        return [t["tenant"] for t in json.loads(listed.output)["tenants"]]

    before = api.written()
    refused = cli("dan", "create", "team-c")
    assert refused.exit_code == 3 and "admin" in refused.output, refused.output
    malformed = cli("ada", "create", "Team C")
    assert malformed.exit_code == 2 and malformed.output.startswith("error:"), malformed.output
    assert api.written() == before and "team-c" not in tenants("ada")
    assert cli("ada", "create", "team-c").output.strip() == "tenant team-c created"
    assert cli("ada", "create", "team-c").output.strip() == "tenant team-c exists"
    assert tenants("ada") == ["default", "team-a", "team-b", "team-c"]
    assert tenants("vera") == ["default", "team-a"]  # viewer in both, nothing of team-b or c
    assert "team-c" in cli("ada", "list").output
    kept = cli("ada", "delete", "default")
    assert kept.exit_code == 2 and "default tenant" in kept.output, kept.output
    gone = cli("ada", "delete", "team-c")
    assert gone.output.strip() == "tenant team-c deleted (0 role binding(s) removed)"
    assert "team-c" not in tenants("ada")
