"""The project runner port (``lifecycle.ports.ProjectRunner``): ``FakeProjectRunner`` and
``MlflowProjectRunner`` (``mlflow.projects.run`` with the local environment manager on a real
MLflow store, over examples/retraining/iris) pass the same tests.

The real side trains once per module (a Project run costs seconds); each side's trained
model is read back through the same calls.

Drift found and resolved while writing them: a registered version's files download a folder
down from where ``pyfunc.load_model`` looks for ``MLmodel`` (the real runner now finds it, as
``registry_mlflow.download_model`` does); a model that cannot be loaded was MLflow's own
exception and is now an ``InfrastructureError`` on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lifecycle.errors import BadInputError, InfrastructureError
from lifecycle.ports import ProjectRunner, TrainedRun
from mlops.mlflow_env import tracking
from mlops.projects_mlflow import MlflowProjectRunner
from mlops.training import ensure_experiment, load_dataset
from tests.mlflow_template import seed_mlflow_store
from tests.retraining_fakes import EXAMPLE_PROJECT, FakeProjectRunner


@dataclass
class Side:
    runner: ProjectRunner
    trained: TrainedRun
    columns: list[str]
    rows: list[dict[str, Any]]
    labels: set[float]


def _training_file(folder: Path) -> tuple[str, list[str], list[dict[str, Any]], set[float]]:
    frame, target, columns = load_dataset("iris")
    data = frame.copy()
    data["label"] = target.astype(float)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "train.csv"
    data.to_csv(path, index=False)
    return str(path), columns, frame.head(6).to_dict("records"), set(data["label"])


def _train(runner: ProjectRunner, folder: Path, experiment_id: str | None) -> Side:
    path, columns, rows, labels = _training_file(folder)
    trained = runner.train(EXAMPLE_PROJECT, "main", {"train_data": path}, experiment_id, {"t": "1"})
    return Side(runner, trained, columns, rows, labels)


@pytest.fixture(scope="module", params=["fake", "mlflow"])
def side(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Side:
    folder = tmp_path_factory.mktemp(f"runner-{request.param}")
    if request.param == "fake":
        return _train(FakeProjectRunner(), folder, None)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    seed_mlflow_store(uri)
    with tracking(uri):
        experiment_id = ensure_experiment("retraining", folder / "artifacts")
    return _train(MlflowProjectRunner(uri), folder, experiment_id)


def test_a_project_with_its_entry_point_passes_the_check(side: Side) -> None:
    side.runner.check_project(EXAMPLE_PROJECT, "main")


@pytest.mark.parametrize(
    ("project", "entry_point"),
    [(EXAMPLE_PROJECT, "nope"), ("/nowhere/at/all", "main"), (str(Path(__file__).parent), "main")],
)
def test_a_missing_project_or_entry_point_is_bad_input(
    side: Side, project: str, entry_point: str
) -> None:
    with pytest.raises(BadInputError):
        side.runner.check_project(project, entry_point)


def test_a_git_uri_is_accepted_unchecked(side: Side) -> None:
    side.runner.check_project("https://example.invalid/team/iris-training.git", "main")


def test_a_trained_run_names_its_run_and_a_model_uri_of_it(side: Side) -> None:
    assert side.trained.run_id
    assert side.trained.model_uri == f"runs:/{side.trained.run_id}/model"


def test_the_trained_model_takes_the_training_files_feature_columns(side: Side) -> None:
    assert side.runner.columns(side.trained.model_uri) == side.columns


def test_the_trained_model_predicts_one_known_label_per_row(side: Side) -> None:
    predicted = side.runner.predict(side.trained.model_uri, side.rows)
    assert len(predicted) == len(side.rows)
    assert {float(p) for p in predicted} <= side.labels


def test_no_rows_get_no_predictions(side: Side) -> None:
    assert side.runner.predict(side.trained.model_uri, []) == []


def test_a_model_that_is_not_there_is_an_infrastructure_error(side: Side) -> None:
    with pytest.raises(InfrastructureError):
        side.runner.predict("runs:/0123456789abcdef0123456789abcdef/model", side.rows)
