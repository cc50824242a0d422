"""Bad input, everywhere (issue 13, item 11): every path, on SQLite and PostgreSQL.

- The ops API checks the token before it reads a body: no token and a malformed body is 401,
  never 422, on every route; nothing changed.
- A body over the limit is 413 before any of it is parsed, whether it declares its length or
  streams in chunks; nothing changed.
- The MLflow tracking URI's and the database URL's passwords appear in no status output (the
  API's, the CLI's text and the CLI's ``--json``) and in no error that quotes the URI.
- Rich markup in a request's reason (or a requester's name) is shown literally by the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.api import create_app
from agents.settings import Settings
from database import migrate
from database.models import ApprovalRow
from tests.access_fixtures import issue_tokens_in_process
from tests.e2e.cli import run
from tests.integration.db_helpers import add_version

MLFLOW_PASSWORD = "mlflow-pw-hunter2"
DB_PASSWORD = "db-pw-correct-horse"
MLFLOW_URI = f"http://bob:{MLFLOW_PASSWORD}@127.0.0.1:9/?token={MLFLOW_PASSWORD}"
LIMIT = 64 * 1024
MODEL = "churn"
TABLES = ("ml_model_registry", "ml_deployments", "approvals", "version_records", "audit_events")


@dataclass
class Home:
    """A migrated home over one database, with one registered version and the app over it."""

    env: dict[str, str]
    container: Container
    client: TestClient

    def snapshot(self) -> dict[str, list[Any]]:
        """Every row a request could change, read straight from the state database."""
        with self.container.engine.connect() as db:
            return {
                table: [tuple(row) for row in db.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
                for table in TABLES
            }


def with_password(url: str) -> str:
    """The URL with a password for its user (the test server trusts local users: unused)."""
    if not url.startswith("postgresql"):
        return url
    scheme, _, rest = url.partition("://")
    user, at, host = rest.partition("@")
    assert at, url
    return f"{scheme}://{user.split(':')[0]}:{DB_PASSWORD}@{host}"


@pytest.fixture
def home(database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    url = with_password(database_url)
    env = {
        "DEPLOYER_HOME": str(tmp_path / "home"),
        "DEPLOYER_DATABASE_URL": url,
        "MLFLOW_TRACKING_URI": MLFLOW_URI,
        "DEPLOYER_API_MAX_BODY_BYTES": str(LIMIT),
        "COLUMNS": "400",
        # The tracking server is never there: fail at once instead of retrying for minutes.
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "2",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    settings.ensure_home()
    migrate.upgrade(url)
    container = bootstrap(settings)
    add_version(container.session_factory, MODEL, "1")
    tokens = issue_tokens_in_process(container, {"root": "admin"})
    app = create_app(container)
    client_headers["Authorization"] = f"Bearer {tokens['root']}"
    try:
        with TestClient(app) as client:
            yield Home(env, container, client)
    finally:
        container.close()


client_headers: dict[str, str] = {}
"""The admin's header; the home fixture puts the admin's freshly made token in it."""


def admin() -> dict[str, str]:
    return dict(client_headers)


def routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) the OpenAPI document lists, its parameters filled in."""
    spec = client.get("/openapi.json").json()
    found = []
    for path, operations in spec["paths"].items():
        concrete = path.replace("{name}", MODEL).replace("{version}", "1")
        for part in ("{deployment_id}", "{approval_id}", "{thread_id}"):
            concrete = concrete.replace(part, "x1")
        found += [(method.upper(), concrete) for method in operations]
    return found


def test_without_a_token_a_malformed_body_is_401_on_every_route_and_changes_nothing(
    home: Home,
) -> None:
    before = home.snapshot()
    asked = [(m, p) for m, p in routes(home.client) if p != "/healthz"]
    assert len(asked) >= 17  # every route but /healthz, whatever routes are added later
    for method, path in asked:
        for headers in ({}, {"Authorization": "Bearer nobody-issued-this-one"}):
            answer = home.client.request(
                method,
                path,
                content=b'{"to_stage": [unclosed',
                headers={**headers, "Content-Type": "application/json"},
            )
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json()["error"]["type"] == "NotAuthenticatedError"
            assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert home.snapshot() == before


def test_an_oversized_body_is_413_before_it_is_parsed_and_changes_nothing(home: Home) -> None:
    before = home.snapshot()
    path = f"/v1/models/{MODEL}/versions"
    huge = b'{"model_uri": "runs:/abc/model", "criteria": [' + b'"a>=1",' * LIMIT + b'"a>=1"]}'

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(huge), 4096):
            yield huge[start : start + 4096]

    declared = home.client.post(path, content=huge, headers=admin())
    streamed = home.client.post(path, content=chunks(), headers=admin())
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.json()["error"] == {
            "type": "BodyTooLargeError",
            "message": f"the request body is over the limit of {LIMIT} bytes",
        }
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    assert home.snapshot() == before


def test_no_status_output_shows_a_password(home: Home) -> None:
    outputs = {
        "api": home.client.get("/v1/status", headers=admin()).text,
        "api model": home.client.get(f"/v1/status/{MODEL}", headers=admin()).text,
    }
    text_run = run("status", env=home.env)
    json_run = run("status", "--json", env=home.env)
    assert (text_run.code, json_run.code) == (0, 0), text_run.stderr + json_run.stderr
    outputs |= {"cli": text_run.stdout + text_run.stderr, "cli json": json_run.stdout}
    for where, output in outputs.items():
        assert MLFLOW_PASSWORD not in output, where
        assert DB_PASSWORD not in output, where
    shown = json_run.json()
    assert shown["mlflow_tracking_uri"] == "http://bob:***@127.0.0.1:9/?token=***"
    if home.env["DEPLOYER_DATABASE_URL"].startswith("postgresql"):
        assert ":***@" in shown["database"]
    assert f"database {shown['database']}" in outputs["cli"]


def test_no_error_quoting_the_tracking_uri_shows_its_password(home: Home) -> None:
    before = home.snapshot()
    body = {"model_uri": "runs:/abc/model"}
    answer = home.client.post(f"/v1/models/{MODEL}/versions", json=body, headers=admin())
    text_run = run("register", MODEL, "--model-uri", "runs:/abc/model", env=home.env)
    json_run = run("register", MODEL, "--model-uri", "runs:/abc/model", "--json", env=home.env)
    # register asks the unreachable registry for its names first (look-alike check): 503, exit 1
    assert answer.status_code == 503, answer.text
    assert (text_run.code, json_run.code) == (1, 1)
    errors = {
        "api": answer.json()["error"]["message"],
        "cli": text_run.stderr,
        "cli json": json_run.json()["error"]["message"],
    }
    for where, message in errors.items():
        assert "http://bob:***@127.0.0.1:9/" in message, where
        assert MLFLOW_PASSWORD not in message, where
    assert home.snapshot() == before


def test_rich_markup_in_a_reason_is_shown_literally(home: Home) -> None:
    reason = "[/] closes nothing; [bold red]shout[/bold red] [link=http://x]y[/link]"
    requester = "eve[italic]"
    with home.container.uow() as uow:
        uow.session.add(
            ApprovalRow(
                approval_id="apr-markup",
                model_name=MODEL,
                version="1",
                target_stage="production",
                requested_by=requester,
                requested_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
                reason=reason,
            )
        )
        uow.commit()
    before = home.snapshot()
    shown = run("approvals", env=home.env)
    assert shown.code == 0, shown.stderr
    assert reason in shown.stdout
    assert requester in shown.stdout
    assert home.snapshot() == before
