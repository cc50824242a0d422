"""Exact names and least privilege on real parts: real bentos (BentoML), a real ``bentoml serve``
and its workers, the real MLflow registry, the real state database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import joblib
import psutil
import pytest
from sqlalchemy import func, select

from agents.bootstrap import Container, bootstrap
from agents.handlers.registration import register_version
from agents.settings import Settings
from database.models import AuditEventRow, DeploymentRow, RolloutRow
from lifecycle.errors import ForeignArtifactError
from lifecycle.names import MODEL_NAME_MAX, make_deployment_id
from lifecycle.ports import PackagedModel, RegisteredVersion
from lifecycle.records import model_version_id
from lifecycle.stages import DeploymentStatus, ModelStage
from mlops import packager_bentoml
from mlops.endpoints_local import LocalEndpointManager
from mlops.mlflow_env import tracking
from mlops.packager_bentoml import BentoPackager
from mlops.training import TrainedModel, save_local, train_and_log
from tests.integration.db_helpers import add_version, deployment_row, migrated_factory
from tests.mlflow_template import seed_mlflow_store
from tests.schema_template import migrated

SECRETS = {
    "DEPLOYER_API_SECRET": "api-secret-0123456789abcdef",
    "DEPLOYER_TOKEN": "tok-0123456789abcdef",
    "DEPLOYER_GATEWAY_TOKEN": "gateway-secret-0123456789",
    "DEPLOYER_DATABASE_URL": "postgresql+psycopg://deployer:db-secret@127.0.0.1/deployer",
    "MLFLOW_TRACKING_URI": "http://mlflow-user:mlflow-secret@127.0.0.1:5000",
    "MLFLOW_TRACKING_PASSWORD": "mlflow-secret",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "PYTHONPATH": "/nowhere/src",
}


def version(number: str, name: str) -> RegisteredVersion:
    return RegisteredVersion(name, number, ModelStage.STAGING, f"models:/{name}/{number}")


@pytest.fixture(scope="module")
def bentoml_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bentoml")


@pytest.fixture(scope="module")
def packager(bentoml_home: Path) -> BentoPackager:
    return BentoPackager(bentoml_home)


@pytest.fixture(scope="module")
def logreg(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    return save_local(tmp_path_factory.mktemp("models") / "logreg")


@pytest.fixture(scope="module")
def churn(packager: BentoPackager, logreg: TrainedModel) -> PackagedModel:
    return packager.package(version("1", "churn"), Path(logreg.model_uri))


def test_look_alike_names_get_their_own_bentos(
    packager: BentoPackager, logreg: TrainedModel, churn: PackagedModel
) -> None:
    other = packager.package(version("1", "Churn"), Path(logreg.model_uri))
    assert other.bento_tag != churn.bento_tag
    import bentoml

    labels = bentoml.bentos.get(other.bento_tag).info.labels
    assert (labels["model_name"], labels["model_version"]) == ("Churn", "1")
    assert packager.existing("churn", "1") == churn


def test_a_bento_labelled_for_another_model_is_never_reused(
    packager: BentoPackager,
    logreg: TrainedModel,
    churn: PackagedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Were two names ever to share a tag, the second finds the first's bento and refuses it."""
    monkeypatch.setattr(packager_bentoml, "bento_tag_for", lambda *_: churn.bento_tag)
    with pytest.raises(ForeignArtifactError) as raised:
        packager.existing("CHURN", "1")
    assert str(raised.value) == (
        f"bento {churn.bento_tag} is labelled 'churn' v1, not 'CHURN' v1; it is not reused "
        "(package with --force to rebuild it)"
    )
    with pytest.raises(ForeignArtifactError):
        packager.package(version("1", "CHURN"), Path(logreg.model_uri))
    import bentoml

    assert bentoml.bentos.get(churn.bento_tag).info.labels["model_name"] == "churn"


@pytest.fixture
def server(
    bentoml_home: Path, churn: PackagedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[psutil.Process]:
    """A real ``bentoml serve`` (two workers) started by a caller whose environment holds every
    kind of secret the control plane has."""
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DEPLOYER_FAULT_LATENCY_MS", "1")
    manager = LocalEndpointManager(bentoml_home, tmp_path / "logs", ready_timeout=60)
    endpoint = manager.create("dep-privilege", churn.bento_tag, workers=2)
    try:
        assert endpoint.pid is not None
        yield psutil.Process(endpoint.pid)
    finally:
        manager.remove(endpoint)


@pytest.mark.usefixtures("no_leftover_servers")
def test_a_model_server_and_its_workers_see_no_secret(
    server: psutil.Process, bentoml_home: Path
) -> None:
    family = [server, *server.children(recursive=True)]
    assert len(family) >= 3  # the arbiter and its workers
    private = bentoml_home / "servers" / "dep-privilege"
    for proc in family:
        env = proc.environ()
        assert not set(SECRETS) & set(env), (proc.pid, sorted(set(SECRETS) & set(env)))
        leaked = [k for k, v in env.items() if "secret" in v or "0123456789" in v]
        assert not leaked, (proc.pid, leaked)
        deployer = {k for k in env if k.startswith("DEPLOYER_")}
        assert deployer <= {
            "DEPLOYER_DEPLOYMENT_ID",
            "DEPLOYER_WORKERS",
            "DEPLOYER_FAULT_LATENCY_MS",
        }
        assert env["HOME"] == str(private) and env["DEPLOYER_DEPLOYMENT_ID"] == "dep-privilege"
    assert server.cwd() == str(private)
    assert private.stat().st_mode & 0o777 == 0o700


# -- preprocessing comes only from the version's own run ------------------------------------


def _home(root: Path) -> tuple[Container, TrainedModel]:
    """A migrated home with ``churn`` v1 registered from a training run."""
    settings = Settings(
        DEPLOYER_HOME=str(root / "home"),
        DEPLOYER_DATABASE_URL=f"sqlite:///{root / 'home' / 'deployer.db'}",
        DEPLOYER_GATEWAY_TOKEN="names-and-privilege-gateway-token",
    )
    settings.ensure_home()
    migrated(settings.database_url)
    container = bootstrap(settings)
    seed_mlflow_store(settings.tracking_uri)
    trained = train_and_log(settings.tracking_uri, artifact_root=settings.artifact_root)
    register_version(container.uow, container.registry, "churn", trained.model_uri, "tester")
    return container, trained


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Container, TrainedModel]]:
    container, trained = _home(tmp_path)
    yield container, trained
    container.close()


@pytest.fixture(scope="module")
def refusing_home(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Container, TrainedModel, TrainedModel]]:
    """A home (never packaged in) with a second run that logged a preprocessing step."""
    root = tmp_path_factory.mktemp("refusing")
    container, trained = _home(root)
    other = train_and_log(
        container.settings.tracking_uri, artifact_root=container.settings.artifact_root
    )
    assert other.run_id is not None
    _log_step(container, other.run_id, root)
    yield container, trained, other
    container.close()


def audit_count(container: Container) -> int:
    with container.reader() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(AuditEventRow)) or 0)


def _tag(container: Container, uri: str) -> None:
    container.registry.client.set_model_version_tag("churn", "1", "preprocessing_uri", uri)


def _log_step(container: Container, run_id: str, tmp_path: Path) -> bytes:
    import mlflow

    step = tmp_path / "step.joblib"
    joblib.dump({"scale": 2.0}, step)
    with tracking(container.settings.tracking_uri), mlflow.start_run(run_id=run_id):
        mlflow.log_artifact(str(step), artifact_path="pre")
    return step.read_bytes()


def test_a_preprocessing_step_of_the_versions_own_run_is_packaged(
    home: tuple[Container, TrainedModel], tmp_path: Path
) -> None:
    container, trained = home
    assert trained.run_id is not None
    content = _log_step(container, trained.run_id, tmp_path)
    _tag(container, f"runs:/{trained.run_id}/pre/step.joblib")
    packaged = container.serving.build("churn", "1", "tester")
    import bentoml

    model_tag = f"{packaged.bento_tag.partition(':')[0]}-model:v1"
    stored = Path(bentoml.models.get(model_tag).path) / "preprocessing.joblib"
    assert stored.read_bytes() == content


@pytest.mark.parametrize(
    "kind", ["a local file", "file://", "http", "another run", "a path out of the run"]
)
def test_a_foreign_preprocessing_uri_is_refused_and_no_bento_is_built(
    refusing_home: tuple[Container, TrainedModel, TrainedModel], kind: str
) -> None:
    container, trained, other = refusing_home
    secret = container.settings.home_dir / "gateway.token"
    secret.write_text("a secret")
    uri = {
        "a local file": str(secret),
        "file://": f"file://{secret}",
        "http": "http://127.0.0.1:9/pre.joblib",
        "another run": f"runs:/{other.run_id}/pre/step.joblib",
        "a path out of the run": f"runs:/{trained.run_id}/../{other.run_id}/pre/step.joblib",
    }[kind]
    _tag(container, uri)
    audit_before = audit_count(container)
    with pytest.raises(ForeignArtifactError) as raised:
        container.serving.build("churn", "1", "tester")
    assert raised.value.exit_code == 3 and "\n" not in str(raised.value)
    store = container.settings.bentoml_home
    assert not [p for sub in ("bentos", "models") for p in (store / sub).glob("*/*")]
    with container.reader() as uow:
        assert uow.models.get("churn", "1").bento_tag is None
    assert audit_count(container) == audit_before


# -- ids fit their columns ------------------------------------------------------------------


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_longest_model_name_yields_ids_that_fit_their_columns(
    database: str, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL enforces VARCHAR widths (SQLite does not): the ids of a model with the longest
    name are stored in every column that holds a deployment id."""
    url = str(request.getfixturevalue(f"{database}_url"))
    factory = migrated_factory(url)
    name = "m" * MODEL_NAME_MAX
    add_version(factory, name, "1")
    deployment_id = make_deployment_id(name, "1", uuid.uuid4().hex)
    assert len(deployment_id) == 64
    with factory() as session:
        row: DeploymentRow = deployment_row(deployment_id, DeploymentStatus.ACTIVE, name, "1")
        session.add(row)
        session.flush()
        session.add(
            RolloutRow(
                deployment_id=deployment_id,
                model_name=name,
                strategy="canary",
                phase="canary",
                baseline_deployment_id=deployment_id,
            )
        )
        session.commit()
        stored = session.get(DeploymentRow, deployment_id)
        assert stored is not None and stored.model_version_id == model_version_id(name, "1")
