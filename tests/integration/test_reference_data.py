"""A version's drift reference on a real home (real MLflow, SQLite and PostgreSQL): ``register
--reference FILE`` stores a reproducible sample with the version and ``status`` shows it; a file
with other columns is refused with one line and nothing is registered; a run that logged its
training data as an MLflow input gives the version that data as its reference.

One MLflow store (and one trained run) serves the module: creating a store costs ~10 s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from agents.bootstrap import Container, bootstrap
from agents.commands import Register
from agents.handlers.registration import register
from agents.queries.status import home_status
from agents.settings import Settings
from database.drift import DriftRepository
from database.models import AuditEventRow
from mlops.reference_data import ReferenceDataError
from mlops.training import TrainedModel, load_dataset, train_and_log
from tests.schema_template import migrated

MODEL = "iris"
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{folder / 'mlflow.db'}", folder / "artifacts"


@pytest.fixture(scope="module")
def trained(mlflow_store: tuple[str, Path]) -> TrainedModel:
    """An iris run that logged its training features as its input dataset."""
    return train_and_log(mlflow_store[0], artifact_root=mlflow_store[1])


@pytest.fixture(scope="module")
def reference_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame, target, _ = load_dataset("iris")
    path = tmp_path_factory.mktemp("ref") / "iris.csv"
    frame.assign(target=target).to_csv(path, index=False)  # the label column is dropped
    return path


@pytest.fixture
def container(
    tmp_path: Path, database_url: str, mlflow_store: tuple[str, Path]
) -> Iterator[Container]:
    settings = Settings.model_validate(
        {
            "DEPLOYER_HOME": str(tmp_path / "home"),
            "DEPLOYER_DATABASE_URL": database_url,
            "MLFLOW_TRACKING_URI": mlflow_store[0],
            "DEPLOYER_REFERENCE_MAX_ROWS": 50,
        }
    )
    settings.ensure_home()
    migrated(settings.database_url)
    c = bootstrap(settings)
    yield c
    c.close()


def test_register_with_a_reference_file_stores_a_reproducible_sample_that_status_shows(
    container: Container, trained: TrainedModel, reference_csv: Path
) -> None:
    asked = Register(model_name=MODEL, model_uri=trained.model_uri, reference=str(reference_csv))
    result = register(container, asked, "alice")

    assert result["reference"] == {
        "rows": 50,
        "source_rows": 150,
        "columns": COLUMNS,
        "source": f"file:{reference_csv.resolve()}",
    }
    with container.reader() as uow:
        stored = DriftRepository(uow.session).reference(f"{MODEL}/{result['version']}")
        assert stored is not None
        events = [e.action for e in uow.session.query(AuditEventRow).all()]
    again = pd.read_csv(reference_csv).sample(n=50, random_state=14).sort_index()
    assert stored.rows == again[COLUMNS].values.tolist()  # the same sample every time
    assert events == ["registered", "reference_set"]
    version = home_status(container)["models"][0]["versions"][0]
    assert version["reference"] == result["reference"]


def versions_in_mlflow(c: Container) -> int:
    names = c.registry.list_model_names()
    return len(c.registry.list_versions(MODEL)) if MODEL in names else 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_reference_with_other_columns_is_refused_in_one_line_and_nothing_is_registered(
    container: Container, trained: TrainedModel, tmp_path: Path
) -> None:
    before = (
        len(container.registry.list_versions(MODEL))
        if MODEL in container.registry.list_model_names()
        else 0
    )
    bad = tmp_path / "other.csv"
    bad.write_text("age,income\n31,52000\n")
    asked = Register(model_name=MODEL, model_uri=trained.model_uri, reference=str(bad))
    with pytest.raises(ReferenceDataError, match="lacks the model's columns") as raised:
        register(container, asked, "alice")
    assert "\n" not in str(raised.value) and raised.value.exit_code == 2
    after = (
        len(container.registry.list_versions(MODEL))
        if MODEL in container.registry.list_model_names()
        else 0
    )
    assert after == before
    with container.reader() as uow:
        assert uow.models.list_model_names() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_that_logged_its_training_data_gives_the_version_its_reference(
    container: Container, trained: TrainedModel
) -> None:
    result = register(container, Register(model_name=MODEL, model_uri=trained.model_uri), "alice")

    assert result["reference"]["source"].startswith("mlflow:iris-train@")
    assert (result["reference"]["rows"], result["reference"]["source_rows"]) == (50, 105)
    with container.reader() as uow:
        stored = DriftRepository(uow.session).reference(f"{MODEL}/{result['version']}")
    assert stored is not None and stored.columns == COLUMNS
