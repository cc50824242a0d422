"""Identity is proven, never claimed: no flag, environment variable, body field, graph input or
second token of one's own gets around who a person is and which roles the state database says
they hold. Each test tries one path and asserts the typed refusal and that nothing changed.

The home: a production promotion of ``churn`` v1 waits for approval, requested by the OS user
who runs the tests (the home's first admin). ``bob`` holds approver and ``dan`` deployer in the
state database; each has an API token. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.api import create_app
from agents.handlers import access
from agents.handlers.registration import register_version
from agents.model_deployer.intake import IdentityMismatchError
from agents.settings import Settings, local_identity
from mlops.training import train_and_log
from tests import operations_calls
from tests.access_fixtures import issue_tokens_in_process
from tests.e2e.cli import run
from tests.mlflow_template import seed_mlflow_store
from tests.schema_template import migrated
from tests.web_login import ui_login

MODEL = "churn"
ME = local_identity()


@dataclass
class Home:
    env: dict[str, str]
    c: Container
    approval_id: str
    tokens: dict[str, str]

    def footprint(self) -> dict[str, Any]:
        """Every row identity guards: approvals, stages, role bindings, tokens, audit."""
        queries = {
            "approvals": "SELECT approval_id, state, approver FROM approvals",
            "stages": "SELECT version, stage FROM ml_model_registry",
            "bindings": "SELECT user_name, role FROM access_bindings",
            "tokens": "SELECT token_id, revoked_at FROM access_tokens",
            "audit": "SELECT count(*) FROM audit_events",
        }
        with self.c.reader() as uow:
            return {
                k: sorted(map(tuple, uow.session.execute(text(q)).all()))
                for k, q in queries.items()
            }

    def cli(self, *args: str, **env: str) -> Any:
        return run(*args, env={**self.env, **env}, timeout=180)

    def api(self) -> TestClient:
        return TestClient(create_app(self.c))


@pytest.fixture
def home(database_url: str, tmp_path: Path) -> Iterator[Home]:
    root = tmp_path / "home"
    env = {
        "DEPLOYER_HOME": str(root),
        "DEPLOYER_DATABASE_URL": database_url,
        "DEPLOYER_SHADOW_MIN_HOURS": "0",
    }
    c = bootstrap(Settings(**env))
    c.settings.ensure_home()
    migrated(database_url)
    tokens = issue_tokens_in_process(c, {"bob": "approver", "dan": "deployer"})
    seed_mlflow_store(c.settings.tracking_uri)
    trained = train_and_log(c.settings.tracking_uri, artifact_root=c.settings.artifact_root)
    register_version(c.uow, c.registry, MODEL, trained.model_uri, ME, criteria=["accuracy>=0.5"])
    for stage in ("staging", "shadow"):
        operations_calls.promote(c, MODEL, "1", stage, ME)
    waiting = operations_calls.promote(c, MODEL, "1", "production", ME, reason="ship")
    assert waiting["status"] == "awaiting_approval"
    try:
        yield Home(env, c, waiting["approval_id"], tokens)
    finally:
        c.close()


def test_a_claimed_identity_flag_is_refused_and_changes_nothing(home: Home) -> None:
    before = home.footprint()
    for args in (
        ("approve", home.approval_id, "--by", "bob"),
        ("promote", MODEL, "1", "--to=production", "--by=bob", "--json"),
        ("chat", f"approve {home.approval_id}", "--by", "bob"),
    ):
        result = home.cli(*args)
        assert result.code == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
        assert "--by is not accepted: local commands act as the OS user" in result.stderr
    assert home.footprint() == before


def test_environment_variables_cannot_make_the_requester_an_approver(home: Home) -> None:
    before = home.footprint()
    claimed = home.cli("approve", home.approval_id, DEPLOYER_USER="bob", DEPLOYER_APPROVERS=ME)
    assert claimed.code == 2, claimed.stderr
    assert "DEPLOYER_USER is no longer read" in claimed.stderr
    granted = home.cli("approve", home.approval_id, DEPLOYER_APPROVERS=ME)
    assert granted.code == 2 and "DEPLOYER_APPROVERS is no longer read" in granted.stderr
    own = home.cli("approve", home.approval_id)  # as the OS user: the requester
    assert own.code == 3 and "four-eyes" in own.stderr, own.stderr
    assert home.footprint() == before


def test_chat_acts_as_the_os_user_who_cannot_approve_their_own_request(home: Home) -> None:
    before = home.footprint()
    said = home.cli("chat", f"approve {home.approval_id}")
    assert said.code == 3, said.stdout + said.stderr
    assert "four-eyes" in said.stdout + said.stderr
    assert home.footprint() == before


def test_an_unknown_or_revoked_token_is_refused(home: Home) -> None:
    (bob_token_id,) = [
        t["token_id"] for t in access.list_access(home.c)["tokens"] if t["owner"] == "bob"
    ]
    access.revoke_token(home.c, ME, bob_token_id)
    before = home.footprint()
    with home.api() as api:
        for token in ("not-a-token-anyone-made-0123456789", home.tokens["bob"]):
            answer = api.post(
                f"/v1/approvals/{home.approval_id}/approve",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 401, answer.text
            assert answer.json()["error"]["message"] == "the bearer token is not valid"
    assert home.footprint() == before


def test_a_deployer_token_cannot_approve(home: Home) -> None:
    before = home.footprint()
    with home.api() as api:
        answer = api.post(
            f"/v1/approvals/{home.approval_id}/approve",
            headers={"Authorization": f"Bearer {home.tokens['dan']}"},
        )
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == (
        "dan holds the deployer role; this needs approver or above"
    )
    assert home.footprint() == before


def test_the_requester_cannot_approve_with_a_second_token_of_their_own(home: Home) -> None:
    second = access.create_token(home.c, ME, ME)["token"]
    before = home.footprint()
    with home.api() as api:
        answer = api.post(
            f"/v1/approvals/{home.approval_id}/approve",
            headers={"Authorization": f"Bearer {second}"},
        )
    assert answer.status_code == 403
    assert "four-eyes" in answer.json()["error"]["message"]
    assert home.footprint() == before


def test_a_non_admin_cannot_grant_a_role(home: Home) -> None:
    access.grant(home.c, ME, "bob", "admin")
    access.revoke(home.c, "bob", ME, "admin")  # the OS user is an admin no more
    before = home.footprint()
    result = home.cli("access", "grant", ME, "admin")
    assert result.code == 3, result.stderr
    assert f"{ME} is not an admin of the platform; only one may grant roles" in result.stderr
    with home.api() as api:  # nor can a token's role be raised by asking the API
        listed = api.get("/v1/status", headers={"Authorization": f"Bearer {home.tokens['dan']}"})
        assert listed.status_code == 200
    assert home.footprint() == before


def test_an_upstream_graph_cannot_claim_to_be_someone_else(home: Home) -> None:
    before = home.footprint()
    with home.c.open_agent() as agent, pytest.raises(IdentityMismatchError) as refused:
        agent.run(
            {
                "action": "promote",
                "model_name": MODEL,
                "version": "1",
                "target_stage": "production",
                "requested_by": "bob",
            }
        )
    assert (
        str(refused.value) == f"this agent acts as {ME}; a request cannot claim to come from 'bob'"
    )
    assert home.footprint() == before


def test_the_dashboard_acts_as_its_session_s_person_and_four_eyes_hold_there_too(
    home: Home,
) -> None:
    """The web dashboard (/ui) is one more path: a session is its token's person, no form field
    names another, a forged form is refused, and the requester's own approve is four-eyes."""
    own = access.create_token(home.c, ME, ME)["token"]
    before = home.footprint()
    with home.api() as api:
        for token, status, said in (
            (own, 403, "four-eyes"),
            (home.tokens["dan"], 403, "dan holds the deployer role"),
        ):
            api.cookies.clear()
            assert ui_login(api, token).status_code == 200
            page = api.get("/ui/approvals").text
            csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            answer = api.post(
                f"/ui/approvals/{home.approval_id}/approve",
                data={"csrf": csrf, "approver": "bob", "requested_by": "bob"},
            )
            assert answer.status_code == status, answer.text
            assert said in answer.text
        api.cookies.clear()
        ui_login(api, home.tokens["bob"])
        forged = api.post(f"/ui/approvals/{home.approval_id}/approve", data={"csrf": "x"})
        assert forged.status_code == 403
    assert home.footprint() == before
