"""A version named by a label, ``latest`` or a number names one version of one model, or
nothing happens (issue 15): on every path (the agent's use case, the chat, the ops API), on
SQLite and PostgreSQL, a label another model's version carries, an unknown label and a
malformed one are refused with a one-line typed error, and not a row changes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from agents.bootstrap import Container, bootstrap
from agents.commands import Deploy, Promote
from agents.entrypoints.api import create_app
from agents.entrypoints.chat.chat import answer
from agents.handlers import operations
from agents.settings import Settings
from lifecycle.errors import BadInputError, UnknownModelError
from lifecycle.stages import ModelStage
from tests.access_fixtures import issue_tokens_in_process
from tests.integration.db_helpers import add_version
from tests.schema_template import migrated

TABLES = ("ml_model_registry", "ml_deployments", "approvals", "version_records", "audit_events")
LABELLED, OTHER = "churn", "fraud"


@dataclass
class Home:
    container: Container
    client: TestClient
    headers: dict[str, str]

    def snapshot(self) -> dict[str, list[Any]]:
        with self.container.engine.connect() as db:
            return {
                table: [tuple(row) for row in db.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
                for table in TABLES
            }


@pytest.fixture
def home(database_url: str, tmp_path: Path) -> Iterator[Home]:
    """churn v1 labelled 1.0.0 (in staging); fraud v1 and v2, unlabelled (in staging)."""
    migrated(database_url)
    settings = Settings(
        DEPLOYER_HOME=str(tmp_path / "home"),
        DEPLOYER_DATABASE_URL=database_url,
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'never-opened.db'}",
    )
    settings.ensure_home()
    c = bootstrap(settings)
    add_version(c.session_factory, LABELLED, "1", ModelStage.STAGING)
    for version in ("1", "2"):
        add_version(c.session_factory, OTHER, version, ModelStage.STAGING)
    with c.uow() as uow:
        uow.models.get(LABELLED, "1").label = "1.0.0"
        uow.commit()
    token = issue_tokens_in_process(c, {"root": "admin"})["root"]
    try:
        with TestClient(create_app(c)) as client:
            yield Home(c, client, {"Authorization": f"Bearer {token}"})
    finally:
        c.close()


REFUSED: list[tuple[str, type[Exception], str]] = [
    ("1.0.0", UnknownModelError, "fraud has no version labelled 1.0.0"),  # churn's label
    ("v9.9.9", UnknownModelError, "no version labelled 9.9.9"),
    ("3", UnknownModelError, "fraud has no version '3'"),
    ("1.0", BadInputError, "invalid version '1.0'"),
    ("latest!", BadInputError, "invalid version"),
]


def test_the_agent_and_the_chat_refuse_a_version_the_model_does_not_have_unchanged(
    home: Home,
) -> None:
    before = home.snapshot()
    user = home.container.settings.user
    for version, error, message in REFUSED:
        for request in (
            Promote(model_name=OTHER, version=version, target_stage="shadow"),
            Deploy(model_name=OTHER, version=version),
        ):
            with pytest.raises(error, match=message.replace(".", r"\.")) as refused:
                operations.execute(home.container, request, user, "cli")
            assert refused.value.exit_code == 2 and "\n" not in str(refused.value)
    for version, error in (("1.0.0", "UnknownVersionError"), ("3", "UnknownModelError")):
        said = answer(home.container, f"promote {OTHER} {version} to shadow", "root")
        assert said.exit_code == 2 and said.error == error, said.reply
        assert said.reply.startswith("I did not do that: fraud has no version")
    assert home.snapshot() == before


def test_the_api_refuses_another_models_label_and_a_malformed_one_and_changes_nothing(
    home: Home,
) -> None:
    before = home.snapshot()
    promote = f"/v1/models/{OTHER}/versions/{{}}/promote"
    for version, status in (("1.0.0", 404), ("v9.9.9", 404), ("1.0", 422), ("v1.2.3.4", 422)):
        said = home.client.post(
            promote.format(version), json={"to_stage": "shadow"}, headers=home.headers
        )
        assert said.status_code == status, (version, said.text)
    deploy = home.client.post(
        "/v1/deployments", json={"model_name": OTHER, "version": "1.0.0"}, headers=home.headers
    )
    assert deploy.status_code == 404 and "labelled 1.0.0" in deploy.json()["error"]["message"]
    for version, body, status in (
        ("1", {"label": "1.0"}, 422),  # malformed
        ("1", {"label": "1.0.1"}, 409),  # a relabel without force
        ("9.9.9", {"label": "1.0.1"}, 404),  # no such version
    ):
        said = home.client.post(
            f"/v1/models/{LABELLED}/versions/{version}/label", json=body, headers=home.headers
        )
        assert said.status_code == status, said.text
    assert home.snapshot() == before
