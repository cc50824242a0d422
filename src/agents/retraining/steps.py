"""The retraining run's work: the window's data files, the MLflow Project's run, the new
version registered with its lineage. Each step is keyed (``keyed.once``); a failed step
returns ``status="failed"`` with its error and the flow ends in ``fail``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agents.retraining.dataset import split_rows, write_rows
from agents.retraining.deps import RetrainingDeps
from agents.retraining.keyed import done, once
from agents.retraining.state import State
from database.models import ModelVersionRow
from database.protocols import UnitOfWork
from lifecycle.errors import ModelDeployerError
from lifecycle.records import model_version_id
from lifecycle.retraining_eval import check_enough, retrained_label
from lifecycle.stages import ModelStage

FAILED = "failed"


def failed(error: str) -> dict[str, Any]:
    return {"status": FAILED, "errors": [error]}


class WorkNodes:
    def __init__(self, deps: RetrainingDeps) -> None:
        self.deps = deps

    def prepare_data(self, state: State) -> dict[str, Any]:
        run, model = state.run, state.model_name
        try:
            columns = self.deps.runner.columns(f"models:/{model}/{run['parent_version']}")
        except ModelDeployerError as exc:
            return failed(str(exc))
        if not columns:
            return failed(
                f"{model} v{run['parent_version']} has no input signature to name columns"
            )
        since = datetime.fromisoformat(str(run["data_since"]))
        until = datetime.fromisoformat(str(run["data_until"]))
        split = split_rows(self.deps.labelled(model, since, until), columns)
        try:
            check_enough(
                len(split.train),
                len(split.holdout),
                self.deps.rules.min_train_rows,
                self.deps.rules.min_holdout_rows,
            )
        except ModelDeployerError as exc:
            return failed(f"{exc} ({split.skipped} unusable requests skipped)")
        folder = self.deps.workdir / str(run["id"])
        return {
            "data": {
                "columns": list(columns),
                "train_file": write_rows(folder / "train.csv", columns, split.train),
                "holdout_file": write_rows(folder / "holdout.csv", columns, split.holdout),
                "train_rows": len(split.train),
                "holdout_rows": len(split.holdout),
                "skipped": split.skipped,
            }
        }

    def train(self, state: State) -> dict[str, Any]:
        run = state.run
        run_id = str(run["id"])
        trained = done(self.deps, run_id, "train")
        if trained is None:
            raw = run.get("params")
            params = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
            try:
                result = self.deps.runner.train(
                    str(run["project"]),
                    str(run["entry_point"]),
                    {**params, "train_data": str(state.data["train_file"])},
                    str(run["experiment_id"]) if run.get("experiment_id") else None,
                    {"retraining_run_id": run_id, "model_name": state.model_name},
                )
            except ModelDeployerError as exc:
                return failed(str(exc))
            trained = once(self.deps, run_id, "train", lambda uow: _trained(uow, run_id, result))
        return {"trained": trained}

    def register(self, state: State) -> dict[str, Any]:
        run, model = state.run, state.model_name
        run_id = str(run["id"])
        stored = done(self.deps, run_id, "register")
        if stored is None:
            try:
                version = self.deps.registry.register(
                    model,
                    str(state.trained["model_uri"]),
                    parent_version=str(run["parent_version"]),
                )
            except ModelDeployerError as exc:
                return failed(str(exc))
            try:
                stored = once(
                    self.deps, run_id, "register", lambda uow: self._record(uow, state, version)
                )
            except BaseException:
                self.deps.registry.delete_version(model, version.version)
                raise
        tags = {f"lineage.{k}": str(v) for k, v in dict(stored["lineage"]).items()}
        if stored.get("label"):
            tags["label"] = str(stored["label"])
        self.deps.runner.tag_version(model, str(stored["version"]), tags)
        return {"new_version": stored["version"], "label": stored.get("label")}

    def _record(self, uow: UnitOfWork, state: State, version: Any) -> dict[str, Any]:
        run, model = state.run, state.model_name
        taken = {r.label for r in uow.models.list(model) if r.label}
        label = retrained_label(run.get("parent_label"), taken)  # type: ignore[arg-type]
        lineage = {
            "trigger": run["trigger"],
            "data_since": run["data_since"],
            "data_until": run["data_until"],
            "retraining_run_id": run["id"],
            "mlflow_run_id": state.trained["mlflow_run_id"],
            "parent_version": run["parent_version"],
        }
        criteria = [str(c) for c in run.get("criteria") or []]  # type: ignore[union-attr]
        row = uow.models.add(
            ModelVersionRow(
                model_version_id=model_version_id(model, version.version),
                model_name=model,
                version=version.version,
                stage=ModelStage.DEVELOPMENT.value,
                metrics=dict(version.metrics),
                params=dict(version.params),
                success_criteria={
                    "criteria": criteria,
                    "metric_sources": dict.fromkeys(version.metrics, "run"),
                },
                artifact_uri=version.source_uri,
                run_id=version.run_id,
                experiment_id=version.experiment_id,
                parent_version=str(run["parent_version"]),
                label=label,
                lineage=lineage,
            )
        )
        retraining = uow.retraining.run(str(run["id"]))
        if retraining is not None:
            retraining.new_version = version.version
        uow.audit.append(
            str(run.get("requested_by") or "retraining"),
            "retraining_registered",
            row.model_version_id,
            {
                "model": model,
                "version": version.version,
                "label": label,
                "lineage": lineage,
                "criteria": criteria,
                "summary": f"{model} v{version.version} retrained from v{run['parent_version']}",
            },
        )
        return {"version": version.version, "label": label, "lineage": lineage}


def _trained(uow: UnitOfWork, run_id: str, result: Any) -> dict[str, Any]:
    row = uow.retraining.run(run_id)
    if row is not None:
        row.mlflow_run_id = result.run_id
    return {
        "mlflow_run_id": result.run_id,
        "model_uri": result.model_uri,
        "metrics": dict(result.metrics),
    }
