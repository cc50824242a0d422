"""The RetrainingAgent on real parts: the example MLflow Project (examples/retraining/iris)
run by ``mlflow.projects.run`` with the local environment manager against the home's MLflow
store, the registry, the state database on SQLite and a real PostgreSQL, its checkpointer.

iris v1 (trained on scikit-learn's iris, labelled 1.0.0) serves in production; the captured
traffic has drifted (petal length shifted) and carries true labels. A retraining on that
window trains, registers v2 with its lineage and label 1.0.1, evaluates both versions on the
same held-out rows, and hands v2 to the deployer (staging, then shadow: followed for real
here; the shadow deploy is the supervisor's, outside this test). A project parameter that
makes a bad model gives a version that is not better: no handoff.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.chat import chat
from agents.handlers.registration import register_version
from agents.handlers.retraining import follow_handoffs, retrain, run_requested
from agents.handlers.retraining_policy import PolicyRequest, set_policy
from agents.queries.retraining import runs
from agents.settings import Settings
from database import migrate
from database.models_feedback import FeedbackRow
from database.models_watch import PredictionRow
from database.retraining import RetrainingInProgressError
from lifecycle.errors import BadInputError
from lifecycle.records import utcnow
from lifecycle.retraining import Trigger
from lifecycle.stages import ModelStage
from mlops.mlflow_env import tracking
from mlops.training import load_dataset, train_and_log
from tests.access_fixtures import grant_roles
from tests.mlflow_template import seed_mlflow_store
from tests.retraining_fakes import EXAMPLE_PROJECT

MODEL = "iris"
_ids = itertools.count(1)


@pytest.fixture
def c(database_url: str, tmp_path: Path) -> Iterator[Container]:
    """A home (SQLite and PostgreSQL) with iris v1 (label 1.0.0) in production, a retraining
    policy over the example project, and a window of shifted, labelled traffic."""
    container = make_home(database_url, tmp_path)
    yield container
    container.close()


@pytest.fixture
def sqlite_c(sqlite_url: str, tmp_path: Path) -> Iterator[Container]:
    """The same home on SQLite only, where the database does not matter."""
    container = make_home(sqlite_url, tmp_path)
    yield container
    container.close()


def make_home(database_url: str, tmp_path: Path) -> Container:
    settings = Settings(DEPLOYER_HOME=str(tmp_path / "home"), DEPLOYER_DATABASE_URL=database_url)
    settings.ensure_home()
    migrate.upgrade(settings.database_url)
    container = bootstrap(settings)
    seed_mlflow_store(settings.tracking_uri)
    grant_roles(container, {settings.user: "deployer"})
    trained = train_and_log(settings.tracking_uri, artifact_root=settings.artifact_root)
    register_version(
        container.uow,
        container.registry,
        MODEL,
        trained.model_uri,
        "ann",
        criteria=["accuracy>=0.5"],
    )
    container.registry.set_stage(MODEL, "1", ModelStage.PRODUCTION)
    with container.uow() as uow:
        row = uow.models.get(MODEL, "1")
        row.stage, row.label = ModelStage.PRODUCTION.value, "1.0.0"
        uow.commit()
    set_policy(container, settings.user, MODEL, PolicyRequest(EXAMPLE_PROJECT, params=("C=10",)))
    capture_shifted(container)
    return container


def capture_shifted(c: Container) -> None:
    """Every iris row, petal length shifted by +1 cm (v1 scores about 0.82 on them), captured
    and labelled with its class."""
    frame, target, _ = load_dataset("iris")
    frame["petal_length"] = frame["petal_length"] + 1.0
    now = utcnow()
    with c.uow() as uow:
        for values, label in zip(frame.itertuples(index=False), target, strict=True):
            rid = f"req-{next(_ids):06d}"
            uow.session.add(
                PredictionRow(
                    request_id=rid,
                    model_name=MODEL,
                    version="1",
                    deployment_id="iris-v1-aaaa",
                    captured_at=now,
                    latency_ms=3.0,
                    status=200,
                    inputs={"instances": [[float(v) for v in values]]},
                    output={"predictions": [0]},
                    gateway="gw-1",
                )
            )
            uow.session.add(
                FeedbackRow(
                    request_id=rid, model_name=MODEL, label=int(label), received_by="ann",
                    received_at=now,
                )
            )  # fmt: skip
        uow.commit()


def test_a_retrained_version_beats_drifted_production_and_goes_to_staging_and_shadow(
    c: Container,
) -> None:
    user = c.settings.user
    result = retrain(c, MODEL, user, reason="petal length drifted", follow=False)
    assert result["status"] == "handed_over", result
    assert (result["new_version"], result["label"]) == ("2", "1.0.1")
    evaluation = result["evaluation"]
    assert evaluation["production"]["version"] == "1"
    assert evaluation["candidate"]["accuracy"] > evaluation["production"]["accuracy"]
    (run,) = runs(c, MODEL)
    assert run["evaluation"] == evaluation and run["status"] == "handed_over"
    assert run["finished_at"] is not None and run["mlflow_run_id"]
    with c.reader() as uow:
        v2 = uow.models.get(MODEL, "2")
        assert (v2.parent_version, v2.label, v2.stage) == ("1", "1.0.1", "development")
        assert v2.lineage["trigger"] == "manual"
        assert v2.lineage["retraining_run_id"] == run["id"]
        assert v2.lineage["mlflow_run_id"] == run["mlflow_run_id"]
        assert v2.success_criteria["criteria"] == ["accuracy>=0.5"]
    with tracking(c.settings.tracking_uri):
        tags = MlflowClient().get_model_version(MODEL, "2").tags
    assert tags["label"] == "1.0.1" and tags["lineage.retraining_run_id"] == run["id"]
    assert tags["parent_version"] == "1"
    with c.open_memory() as memory:  # the run is an episode beside the deployer's
        (episode,) = memory.episodes(MODEL, "retraining")
    assert (episode["outcome"], episode["path"]) == ("succeeded", "retrain:manual:7d")
    # standalone, the handoffs go to the real deployer: staging, then shadow
    followed = follow_handoffs(c, result["handoffs"][:2], user)
    assert [f["status"] for f in followed] == ["promoted", "promoted"]
    with c.reader() as uow:
        assert uow.models.get(MODEL, "2").stage == "shadow"
        assert uow.models.get(MODEL, "1").stage == "production"


def test_a_worse_version_the_worker_retrained_is_not_better_and_handed_to_nobody(
    sqlite_c: Container,
) -> None:
    c = sqlite_c
    user = c.settings.user
    set_policy(c, user, MODEL, PolicyRequest(EXAMPLE_PROJECT, params=("C=0.00001",)))
    with c.uow() as uow:  # as the monitor opens one on drift: the watcher's worker runs it
        uow.retraining.open_run("rt-drift", MODEL, Trigger.DRIFT, "monitor", utcnow())
        uow.commit()
    (result,) = run_requested(c)
    assert result["retraining_run_id"] == "rt-drift"
    assert result["status"] == "not_better" and result["handoffs"] == []
    assert "followed" not in result
    e = result["evaluation"]
    assert e["candidate"]["accuracy"] < e["production"]["accuracy"]
    with c.reader() as uow:
        assert uow.models.get(MODEL, "2").stage == "development"
        assert [a.action for a in uow.audit.list()][-1] == "retraining_not_better"
        assert uow.models.get(MODEL, "2").lineage["trigger"] == "drift"
    assert runs(c, MODEL)[0]["status"] == "not_better"


def test_a_second_retraining_while_one_is_active_is_a_conflict_and_bad_policies_change_nothing(
    sqlite_c: Container,
) -> None:
    c = sqlite_c
    user = c.settings.user
    with c.uow() as uow:
        uow.retraining.open_run("rt-monitor", MODEL, Trigger.DRIFT, "monitor", utcnow())
        uow.commit()
    with pytest.raises(RetrainingInProgressError):
        retrain(c, MODEL, user)
    said = chat.answer(c, "retrain iris because it drifted", user)  # the chat says so too
    assert said.exit_code == 3 and "iris is already being retrained (run rt-monitor" in said.reply
    with c.reader() as uow:
        policy = uow.retraining.policy(MODEL)
    for bad in (
        PolicyRequest("/nowhere/at/all"),
        PolicyRequest(EXAMPLE_PROJECT, entry_point="nope"),
        PolicyRequest(EXAMPLE_PROJECT, schedule="every monday"),
        PolicyRequest(EXAMPLE_PROJECT, cooldown="soon"),
        PolicyRequest(EXAMPLE_PROJECT, params=("train_data=/etc/passwd",)),
        PolicyRequest(EXAMPLE_PROJECT, on_quality_drop=2.0),
    ):
        with pytest.raises(BadInputError):
            set_policy(c, user, MODEL, bad)
    with c.reader() as uow:
        assert uow.retraining.policy(MODEL) == policy
