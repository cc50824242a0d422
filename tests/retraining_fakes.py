"""Fakes for the RetrainingAgent's node tests: a ``ProjectRunner`` that "trains" a
nearest-neighbour lookup from the CSV it is given (a tiny ``C`` param gives a model that
always answers the majority class, as the example project's does), over a real SQLite state
database holding captured, labelled requests. ``tests/contract`` holds it and the MLflow
runner to the same rules."""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from langgraph.store.memory import InMemoryStore
from sqlalchemy.orm import Session, sessionmaker

from agents.retraining.deps import RetrainingDeps, RetrainingRules
from database.engine import make_engine
from database.models import Base, ModelVersionRow
from database.models_feedback import FeedbackRow
from database.models_watch import PredictionRow
from database.retraining_data import labelled_requests
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import BadInputError, InfrastructureError
from lifecycle.ports import TrainedRun
from lifecycle.records import model_version_id
from lifecycle.retraining import RetrainingPolicy
from lifecycle.stages import ModelStage
from memory.store_memory import StoreMemory
from mlops.projects_mlflow import is_remote, read_entry_points
from tests.agent_fakes import FixedClock
from tests.audit_keys import keyed_factory
from tests.fakes import FakeRegistry

Model = Callable[[Mapping[str, Any]], Any]
_runs = itertools.count(1)


@dataclass
class FakeProjectRunner:
    """An in-memory ``ProjectRunner``; ``models`` maps a model URI to (columns, predict)."""

    models: dict[str, tuple[list[str], Model]] = field(default_factory=dict)
    trained: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    fail_on: set[str] = field(default_factory=set)

    def check_project(self, project: str, entry_point: str) -> None:
        if is_remote(project):
            return
        if not Path(project).expanduser().is_dir():
            raise BadInputError(f"project {project} is not a directory")
        if entry_point not in read_entry_points(Path(project).expanduser()):
            raise BadInputError(f"{project}'s MLproject has no entry point {entry_point!r}")

    def train(
        self,
        project: str,
        entry_point: str,
        parameters: Mapping[str, str],
        experiment_id: str | None,
        tags: Mapping[str, str],
    ) -> TrainedRun:
        if "train" in self.fail_on:
            raise InfrastructureError("the retraining project failed: boom")
        self.check_project(project, entry_point)
        with Path(parameters["train_data"]).open(newline="") as source:
            rows = list(csv.DictReader(source))
        columns = [c for c in rows[0] if c != "label"]
        examples = [([float(r[c]) for c in columns], float(r["label"])) for r in rows]
        majority = Counter(label for _, label in examples).most_common(1)[0][0]
        tiny = float(parameters.get("C", 1.0)) < 0.001

        def predict(row: Mapping[str, Any]) -> Any:
            if tiny:
                return majority
            point = [float(row[c]) for c in columns]
            return min(
                examples, key=lambda e: sum((a - b) ** 2 for a, b in zip(e[0], point, strict=True))
            )[1]

        run_id = f"fake-run-{next(_runs)}"
        uri = f"runs:/{run_id}/model"
        self.models[uri] = (columns, predict)
        self.trained.append({"params": dict(parameters), "tags": dict(tags), "run_id": run_id})
        return TrainedRun(run_id, uri, {"train_rows": float(len(examples))})

    def columns(self, model_uri: str) -> list[str]:
        return list(self._model(model_uri)[0])

    def predict(self, model_uri: str, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        if "predict" in self.fail_on:
            raise InfrastructureError(f"cannot load {model_uri}")
        predict = self._model(model_uri)[1]
        return [predict(r) for r in rows]

    def tag_version(self, model_name: str, version: str, tags: Mapping[str, str]) -> None:
        self.tags.setdefault((model_name, version), {}).update(tags)

    def _model(self, uri: str) -> tuple[list[str], Model]:
        if uri not in self.models:
            raise InfrastructureError(f"no MLflow model at {uri}")
        return self.models[uri]


COLUMNS = ["x0", "x1"]
EXAMPLE_PROJECT = str(Path(__file__).resolve().parents[1] / "examples" / "retraining" / "iris")


def truth(row: Mapping[str, Any]) -> float:
    """The world's rule the labels follow."""
    return 1.0 if float(row["x0"]) > 0.5 else 0.0


@dataclass
class RetrainingWorld:
    deps: RetrainingDeps
    factory: sessionmaker[Session]
    runner: FakeProjectRunner
    registry: FakeRegistry
    clock: FixedClock

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.factory)

    def capture(
        self, count: int, labelled: bool = True, age: timedelta = timedelta(hours=1)
    ) -> None:
        """``count`` captured one-row requests of iris on a grid, labelled by ``truth``."""
        now = self.clock.now()
        with self.uow() as uow:
            for n in range(count):
                rid = f"req-{next(_runs):06d}"
                row = {"x0": (n % 10) / 10 + 0.05, "x1": (n % 7) / 7}
                uow.session.add(
                    PredictionRow(
                        request_id=rid,
                        model_name="iris",
                        version="1",
                        deployment_id="iris-v1-aaaa",
                        captured_at=now - age,
                        latency_ms=3.0,
                        status=200,
                        inputs={"instances": [[row["x0"], row["x1"]]]},
                        output={"predictions": [0]},
                        gateway="gw-1",
                    )
                )
                if labelled:
                    uow.session.add(
                        FeedbackRow(
                            request_id=rid,
                            model_name="iris",
                            label=truth(row),
                            received_by="ann",
                            received_at=now,
                        )
                    )
            uow.commit()


def make_retraining_world(
    tmp_path: Path,
    production: Model | None = None,
    label: str | None = "1.0.0",
    url: str | None = None,
) -> RetrainingWorld:
    """iris v1 in production (labelled ``label``, predicting with ``production``: by default
    always 0), a policy over the example project, a real state database (SQLite, or the
    empty database ``url`` names)."""
    engine = make_engine(url or f"sqlite:///{tmp_path / 'state.db'}")
    Base.metadata.create_all(engine)
    factory = keyed_factory(engine)
    clock, registry, runner = FixedClock(), FakeRegistry(), FakeProjectRunner()
    registry.register("iris", "runs:/seed/model")
    registry.set_stage("iris", "1", ModelStage.PRODUCTION)
    runner.models["models:/iris/1"] = (list(COLUMNS), production or (lambda _r: 0.0))
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.models.add(
            ModelVersionRow(
                model_version_id=model_version_id("iris", "1"),
                model_name="iris",
                version="1",
                stage=ModelStage.PRODUCTION.value,
                metrics={"accuracy": 0.9},
                params={},
                success_criteria={"criteria": ["accuracy>=0.8"]},
                artifact_uri="runs:/seed/model",
                run_id="seed",
                experiment_id="0",
                label=label,
            )
        )
        policy = RetrainingPolicy(model_name="iris", project=EXAMPLE_PROJECT, params={"C": 1.0})
        uow.retraining.set_policy(policy, "ann", clock.now())
        uow.commit()

    def labelled(model: str, since: datetime, until: datetime) -> list[Any]:
        with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
            return labelled_requests(uow.session, model, since, until)

    deps = RetrainingDeps(
        uow=lambda: SqlAlchemyUnitOfWork(factory),
        registry=registry,
        runner=runner,
        labelled=labelled,
        workdir=tmp_path / "retraining",
        clock=clock,
        rules=RetrainingRules(min_train_rows=20, min_holdout_rows=5),
        memory=StoreMemory(InMemoryStore(), clock),
        actor="ann",
    )
    return RetrainingWorld(deps, factory, runner, registry, clock)
