"""Train small scikit-learn classifiers on data that ships with scikit-learn, and log them.

Used by the demo, the tests and the benchmarks; nothing here needs the network. Two variants
of the same dataset give two model versions whose outputs differ on a known share of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops.mlflow_env import quiet, tracking

Dataset = Literal["iris", "breast_cancer", "wine"]
ModelKind = Literal["logreg", "forest"]

# Explicit requirements skip MLflow's 3-8 s inference subprocess; nothing is installed from them.
PIP_REQUIREMENTS = ["scikit-learn", "numpy", "pandas"]
TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]  # forests need this with MLflow's skops format


@dataclass(frozen=True)
class TrainedModel:
    """A trained model and where it was logged."""

    model: Any
    model_uri: str
    run_id: str | None
    experiment_id: str | None
    metrics: dict[str, float]
    columns: list[str]
    sample: Any = field(repr=False)  # held-out feature rows, for checking predictions
    train: Any = field(default=None, repr=False)  # the training features (logged as an input)


def load_dataset(dataset: Dataset) -> tuple[Any, Any, list[str]]:
    """Features (a DataFrame with string column names), labels and column names."""
    from sklearn import datasets

    loader = {
        "iris": datasets.load_iris,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
    }[dataset]
    bunch = loader(as_frame=True)
    frame = bunch.data
    frame.columns = [_column(c) for c in frame.columns]
    return frame, bunch.target, list(frame.columns)


def _column(name: str) -> str:
    return name.replace(" (cm)", "").replace(" ", "_")


def fit(dataset: Dataset = "iris", variant: int = 1, kind: ModelKind = "logreg") -> TrainedModel:
    """Fit a classifier; variant 2 sees fewer iterations/trees so it disagrees on some rows."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    x, y, columns = load_dataset(dataset)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=7)
    if kind == "forest":
        model: Any = RandomForestClassifier(
            n_estimators=20 if variant == 1 else 3,
            max_depth=None if variant == 1 else 2,
            random_state=variant,
        )
    else:
        model = LogisticRegression(
            max_iter=500 if variant == 1 else 5, C=1.0 if variant == 1 else 0.01
        )
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
    }
    return TrainedModel(model, "", None, None, metrics, columns, x_test, x_train)


def train_and_log(
    tracking_uri: str,
    dataset: Dataset = "iris",
    variant: int = 1,
    kind: ModelKind = "logreg",
    experiment: str = "model-deployer",
    artifact_root: Path | None = None,
) -> TrainedModel:
    """Fit a model and log it to an MLflow run; ``model_uri`` is ``runs:/<run>/model``."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    trained = fit(dataset, variant, kind)
    with tracking(tracking_uri):
        experiment_id = ensure_experiment(experiment, artifact_root)
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_metrics(trained.metrics)
            mlflow.log_params({"dataset": dataset, "variant": variant, "kind": kind})
            log_training_input(trained.train, f"{dataset}-train", run.info.artifact_uri)
            mlflow.sklearn.log_model(
                trained.model,
                name="model",
                pip_requirements=PIP_REQUIREMENTS,
                signature=infer_signature(trained.sample, trained.model.predict(trained.sample)),
                skops_trusted_types=TRUSTED_TYPES,
            )
    return TrainedModel(
        trained.model,
        f"runs:/{run.info.run_id}/model",
        run.info.run_id,
        experiment_id,
        trained.metrics,
        trained.columns,
        trained.sample,
        trained.train,
    )


def log_training_input(frame: Any, name: str, artifact_uri: str) -> None:
    """Log the training features as the run's input dataset (context ``training``), stored as
    a Parquet artifact of the run: a version registered from the run gets them as its drift
    reference (``mlops.reference_data.logged_reference``)."""
    import tempfile
    import warnings

    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.parquet"
        frame.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path="reference")
    source = f"{artifact_uri.rstrip('/')}/reference/train.parquet"
    with warnings.catch_warnings():  # "can be interpreted in multiple ways": both are the file
        warnings.simplefilter("ignore", UserWarning)
        dataset = from_pandas(frame, source=source, name=name)
    mlflow.log_input(dataset, context="training")


def ensure_experiment(name: str, artifact_root: Path | None = None) -> str:
    """The id of experiment ``name``, created with its artifacts under ``artifact_root``.

    Without an explicit root, MLflow's SQLite store would put artifacts in ./mlruns of whatever
    folder the process started in.
    """
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = (artifact_root / name).resolve().as_uri() if artifact_root else None
    return str(mlflow.create_experiment(name, artifact_location=location))


def save_local(
    path: Path, dataset: Dataset = "iris", variant: int = 1, kind: ModelKind = "logreg"
) -> TrainedModel:
    """Fit a model and save it as a local MLflow model directory (no tracking server)."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    quiet()
    trained = fit(dataset, variant, kind)
    mlflow.sklearn.save_model(
        trained.model,
        str(path),
        pip_requirements=PIP_REQUIREMENTS,
        signature=infer_signature(trained.sample, trained.model.predict(trained.sample)),
        skops_trusted_types=TRUSTED_TYPES,
    )
    return TrainedModel(
        trained.model, str(path), None, None, trained.metrics, trained.columns, trained.sample
    )
