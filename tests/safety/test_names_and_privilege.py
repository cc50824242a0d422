"""Invariants 7 and 8 of issue 13: names are exact, and model code runs without the control
plane's secrets.

With ``churn`` registered, ``Churn``, ``CHURN``, ``churn.`` and ``churn\\n`` are refused through
the CLI, the API and sync (a name created straight in MLflow), and nothing changes; a model
server started by a caller holding every secret sees none of them; a ``preprocessing_uri`` that
is not the version's own run's artifact is refused by every path that packages, and no bento
is built. Each database-backed path runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.api import create_app
from agents.handlers.registration import register_version, sync_registry
from agents.handlers.serving import start_endpoint, stop_endpoint
from agents.settings import Settings
from database.models import AuditEventRow
from lifecycle.errors import ForeignArtifactError
from mlops.training import TrainedModel, train_and_log
from tests.access_fixtures import issue_tokens_in_process
from tests.e2e.cli import run
from tests.mlflow_template import seed_mlflow_store
from tests.schema_template import migrated

LOOK_ALIKES = ["Churn", "CHURN", "churn.", "churn\n", "churn_"]


@dataclass
class Home:
    """A migrated home with ``churn`` v1 registered; its CLI environment and its container."""

    root: Path
    env: dict[str, str]
    container: Container
    trained: TrainedModel

    def snapshot(self) -> dict[str, Any]:
        """Every row and registry entry a registration or a packaging could change."""
        with self.container.reader() as uow:
            rows = [
                (r.model_version_id, r.stage, r.bento_tag, r.metrics) for r in uow.models.list()
            ]
            deployments = [d.deployment_id for d in uow.deployments.list()]
            audit = uow.session.scalar(select(func.count()).select_from(AuditEventRow))
        registry = self.container.registry
        names = list(registry.list_model_names())
        versions = {n: [v.version for v in registry.list_versions(n)] for n in names}
        bentos = sorted(str(p) for p in self.container.settings.bentoml_home.glob("*/*/*"))
        return {
            "rows": rows,
            "deployments": deployments,
            "audit": audit,
            "mlflow": versions,
            "bentos": bentos,
        }


def _home(root: Path, database_url: str) -> Home:
    settings = Settings(
        DEPLOYER_HOME=str(root / "home"),
        DEPLOYER_DATABASE_URL=database_url,
        DEPLOYER_GATEWAY_TOKEN="names-and-privilege-gateway-token",
    )
    settings.ensure_home()
    migrated(settings.database_url)
    container = bootstrap(settings)
    seed_mlflow_store(settings.tracking_uri)
    trained = train_and_log(settings.tracking_uri, artifact_root=settings.artifact_root)
    register_version(container.uow, container.registry, "churn", trained.model_uri, "alice")
    env = {
        "DEPLOYER_HOME": str(settings.home_dir),
        "DEPLOYER_DATABASE_URL": database_url,
        "DEPLOYER_GATEWAY_TOKEN": "names-and-privilege-gateway-token",
    }
    return Home(root, env, container, trained)


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> Iterator[Home]:
    made = _home(tmp_path, database_url)
    yield made
    made.container.close()


# -- 7. names are exact ----------------------------------------------------------------------


def test_a_look_alike_name_is_refused_by_the_cli_and_nothing_changes(home: Home) -> None:
    before = home.snapshot()
    for name in ("Churn", "churn.", "churn\n"):
        result = run(
            "register", name, "--model-uri", home.trained.model_uri, "--json", env=home.env
        )
        assert result.code == 2, (name, result.stderr)
        line = result.stderr.strip()
        assert "\n" not in line and name.strip() in line, line
        if name != "churn\n":
            assert "'churn'" in line and "only by case or punctuation" in line
        else:
            assert line.startswith("error: invalid model name 'churn\\n'")
    assert home.snapshot() == before


def test_a_look_alike_name_is_refused_by_the_api_and_nothing_changes(home: Home) -> None:
    dan = issue_tokens_in_process(home.container, {"dan": "deployer"})["dan"]
    before = home.snapshot()
    with TestClient(create_app(home.container)) as client:
        for name in LOOK_ALIKES:
            answer = client.post(
                f"/v1/models/{quote(name, safe='')}/versions",
                json={"model_uri": home.trained.model_uri},
                headers={"Authorization": f"Bearer {dan}"},
            )
            # the schema's name pattern refuses a malformed name (422); a look-alike of a
            # registered name is well formed, and the registered one refuses it (409)
            error = answer.json()["error"]
            if name == "churn\n":
                assert (answer.status_code, error["type"]) == (422, "RequestValidationError")
            else:
                assert answer.status_code == 409, (name, answer.text)
                assert error["type"] == "AmbiguousModelNameError"
                assert "'churn'" in error["message"]
    assert home.snapshot() == before


def test_a_look_alike_name_created_in_mlflow_is_not_taken_in_by_sync(home: Home) -> None:
    client = home.container.registry.client
    client.create_registered_model("Churn")
    client.create_model_version("Churn", home.trained.model_uri, run_id=home.trained.run_id)
    before = home.snapshot()
    with home.container.reader() as uow:
        rows_before = sorted(r.model_version_id for r in uow.models.list())

    report = sync_registry(home.container.uow, home.container.registry, "alice")

    assert report.added == [] and report.drift == []
    assert report.refused == [
        {
            "model_name": "Churn",
            "reason": "model name 'Churn' differs from the registered model 'churn' only by "
            "case or punctuation; use 'churn' or a distinct name",
        }
    ]
    with home.container.reader() as uow:
        assert sorted(r.model_version_id for r in uow.models.list()) == rows_before
    audited = {**before, "audit": before["audit"] + 1}  # the refusal is recorded, once
    assert home.snapshot() == audited
    cli = run("sync", "--json", env=home.env)
    assert cli.code == 0 and cli.json()["refused"] == report.refused
    assert home.snapshot() == audited


# -- 8. least privilege for model servers ----------------------------------------------------

SECRETS = {
    "DEPLOYER_API_SECRET": "api-secret-names-0123456789",
    "DEPLOYER_TOKEN": "tok-names-0123456789",
    "DEPLOYER_AUDIT_KEY": "audit-key-secret-0123456789",
    "MLFLOW_TRACKING_PASSWORD": "mlflow-secret-0123456789",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-0123456789",
}


@pytest.mark.usefixtures("no_leftover_servers")
def test_a_model_server_cannot_see_the_control_planes_secrets(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path, sqlite_url)
    for key, value in {**SECRETS, **home.env}.items():
        monkeypatch.setenv(key, value)
    started = start_endpoint(home.container, "churn", "1", "alice", workers=2)
    try:
        server = psutil.Process(started["pid"])
        family = [server, *server.children(recursive=True)]
        secrets = {**SECRETS, **home.env, "gateway": home.container.settings.gateway_token}
        for proc in family:
            env = proc.environ()
            assert not {"DEPLOYER_HOME", "DEPLOYER_DATABASE_URL", *SECRETS} & set(env)
            assert not [k for k, v in env.items() if v in secrets.values()], proc.pid
            assert not [k for k, v in env.items() if str(home.container.settings.home_dir) == v]
            assert Path(env["HOME"]).stat().st_mode & 0o777 == 0o700
        assert Path(server.cwd()) != home.container.settings.home_dir
    finally:
        stop_endpoint(home.container, started["deployment_id"], "alice", "test over")
        home.container.close()


FOREIGN = ["a file in the home", "file://", "http", "another run", "a path out of the run"]


def test_a_foreign_preprocessing_uri_is_refused_by_package_and_start_and_nothing_changes(
    tmp_path: Path, sqlite_url: str
) -> None:
    home = _home(tmp_path, sqlite_url)
    settings = home.container.settings
    other = train_and_log(settings.tracking_uri, artifact_root=settings.artifact_root)
    secret = settings.home_dir / "deployer.token"
    secret.write_text("a secret")
    uris = {
        "a file in the home": str(secret),
        "file://": f"file://{secret}",
        "http": "http://127.0.0.1:9/preprocessing.joblib",
        "another run": f"runs:/{other.run_id}/model/MLmodel",
        "a path out of the run": f"runs:/{home.trained.run_id}/../../{other.run_id}/x.joblib",
    }
    client = home.container.registry.client
    try:
        before = home.snapshot()
        for kind, uri in uris.items():
            client.set_model_version_tag("churn", "1", "preprocessing_uri", uri)
            with pytest.raises(ForeignArtifactError):
                home.container.serving.build("churn", "1", "alice")
            assert home.snapshot() == before, kind
        for args, kind in (
            (("package", "churn", "1"), "a file in the home"),
            (("endpoints", "start", "churn", "1"), "another run"),
        ):
            client.set_model_version_tag("churn", "1", "preprocessing_uri", uris[kind])
            result = run(*args, "--json", env=home.env)
            assert result.code == 3, (args, result.stderr)
            line = result.stderr.strip()
            assert "\n" not in line and "is not an artifact of the version's own run" in line
        assert home.snapshot() == before
    finally:
        home.container.close()
