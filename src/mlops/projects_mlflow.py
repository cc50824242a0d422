"""The retraining agent's ``ProjectRunner`` over MLflow: Projects run with the local
environment manager, logged models found through the run, predictions through pyfunc.

A project is a local directory holding an ``MLproject`` file whose entry point is checked
before a policy is stored; a git URI (``https://``, ``git@``, ``git+``) is accepted unchecked
(MLflow fetches it when a run starts; this deployer never reaches the network itself). No
conda or virtualenv environment is ever built (``env_manager="local"``): the entry point's
``python`` is this process's interpreter, whose folder leads the child's ``PATH``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lifecycle.errors import BadInputError, InfrastructureError
from lifecycle.ports import TrainedRun
from mlops.mlflow_env import tracking

REMOTE_PREFIXES = ("https://", "http://", "git@", "git+", "ssh://")
MODEL_NAME = "model"
"""The name the project logs its model under (``mlflow.sklearn.log_model(..., name="model")``)."""
_env_lock = threading.Lock()


def is_remote(project: str) -> bool:
    """Whether ``project`` is a git URI (accepted without looking)."""
    return project.startswith(REMOTE_PREFIXES)


def read_entry_points(project: Path) -> list[str]:
    """The entry points of the ``MLproject`` in ``project``; BadInputError when there is no
    readable one."""
    import yaml  # type: ignore[import-untyped]

    for name in ("MLproject", "mlproject"):
        path = project / name
        if path.is_file():
            break
    else:
        raise BadInputError(f"{project} holds no MLproject file; point --project at one")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, yaml.YAMLError) as exc:
        raise BadInputError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    points = document.get("entry_points") if isinstance(document, dict) else None
    return sorted(str(k) for k in points) if isinstance(points, dict) else []


class MlflowProjectRunner:
    """``lifecycle.ports.ProjectRunner`` over the home's MLflow tracking store."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri

    def check_project(self, project: str, entry_point: str) -> None:
        if is_remote(project):
            return
        folder = Path(project).expanduser()
        if not folder.is_dir():
            raise BadInputError(f"project {project} is not a directory")
        points = read_entry_points(folder)
        if entry_point not in points:
            known = ", ".join(points) or "none"
            raise BadInputError(
                f"{project}'s MLproject has no entry point {entry_point!r} (it has: {known})"
            )

    def train(
        self,
        project: str,
        entry_point: str,
        parameters: Mapping[str, str],
        experiment_id: str | None,
        tags: Mapping[str, str],
    ) -> TrainedRun:
        import mlflow.projects
        from mlflow.exceptions import ExecutionException, MlflowException

        uri = project if is_remote(project) else str(Path(project).expanduser().resolve())
        with tracking(self.tracking_uri), _interpreter_first_on_path():
            try:
                submitted = mlflow.projects.run(  # type: ignore[no-untyped-call]
                    uri=uri,
                    entry_point=entry_point,
                    parameters=dict(parameters),
                    env_manager="local",
                    synchronous=True,
                    experiment_id=experiment_id,
                )
            except (ExecutionException, MlflowException) as exc:
                raise InfrastructureError(f"the retraining project failed: {_first(exc)}") from None
            run_id = submitted.run_id
            client = mlflow.MlflowClient()
            for key, value in tags.items():
                client.set_tag(run_id, key, value)
            metrics = dict(client.get_run(run_id).data.metrics)
            self._require_model(run_id)
        return TrainedRun(run_id=run_id, model_uri=f"runs:/{run_id}/{MODEL_NAME}", metrics=metrics)

    def _require_model(self, run_id: str) -> None:
        """The run must have logged a model named ``model`` (MLflow 3's logged models)."""
        import mlflow

        run = mlflow.get_run(run_id)
        logged = mlflow.search_logged_models(
            experiment_ids=[run.info.experiment_id],
            filter_string=f"source_run_id = '{run_id}'",
            output_format="list",
        )
        if not any(m.name == MODEL_NAME for m in logged):
            raise InfrastructureError(
                f"the retraining project's run {run_id} logged no model named {MODEL_NAME!r}"
            )

    def columns(self, model_uri: str) -> list[str]:
        import mlflow

        with tracking(self.tracking_uri):
            info = mlflow.models.get_model_info(model_uri)
        signature = info.signature
        if signature is None or signature.inputs is None:
            return []
        return [str(n) for n in signature.inputs.input_names()]

    def predict(self, model_uri: str, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        import mlflow.artifacts
        import mlflow.pyfunc
        import pandas as pd
        from mlflow.exceptions import MlflowException

        if not rows:
            return []
        with tempfile.TemporaryDirectory() as tmp, tracking(self.tracking_uri):
            try:  # a registered version's files may sit a folder down: find its MLmodel
                local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp)
                found = sorted(p.parent for p in Path(local).rglob("MLmodel"))
                if not found:
                    raise InfrastructureError(f"{model_uri} holds no MLflow model (no MLmodel)")
                model = mlflow.pyfunc.load_model(str(found[0]))
            except MlflowException as exc:
                raise InfrastructureError(f"cannot load {model_uri}: {_first(exc)}") from None
        predicted = model.predict(pd.DataFrame([dict(r) for r in rows]))
        values = predicted.tolist() if hasattr(predicted, "tolist") else list(predicted)
        return [v[0] if isinstance(v, list) and len(v) == 1 else v for v in values]

    def tag_version(self, model_name: str, version: str, tags: Mapping[str, str]) -> None:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        for key, value in tags.items():
            client.set_model_version_tag(model_name, version, key, value)


@contextmanager
def _interpreter_first_on_path() -> Iterator[None]:
    """The Project's ``python`` is this interpreter: its folder leads ``PATH`` for the run."""
    folder = str(Path(sys.executable).parent)
    with _env_lock:
        previous = os.environ.get("PATH", "")
        os.environ["PATH"] = os.pathsep.join([folder, previous]) if previous else folder
        try:
            yield
        finally:
            os.environ["PATH"] = previous


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
