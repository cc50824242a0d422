"""The schedule's route through the supervisor on a real SQLite home: ``deployer watch``'s
tick runs the deployer's health tick as a scheduled system request (the report says which
agent ran), and a retraining an agent hands on during a tick is recorded as a requested run
for the retraining worker, never trained inside the tick. (Chat: tests/integration/
test_chat_ops.py; the API: tests/integration/test_api.py; an upstream agent:
tests/integration/test_upstream_example.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.bootstrap import Container, bootstrap
from agents.entrypoints import watch
from agents.settings import Settings
from tests.integration.db_helpers import add_version
from tests.mlflow_template import seed_mlflow_store
from tests.schema_template import migrated


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Container]:
    settings = Settings(DEPLOYER_HOME=str(tmp_path / "home"), DEPLOYER_USER="alice")
    settings.ensure_home()
    seed_mlflow_store(settings.tracking_uri)
    migrated(settings.database_url)
    c = bootstrap(settings)
    yield c
    c.close()


def test_a_scheduled_tick_goes_through_the_supervisor_to_the_deployer(home: Container) -> None:
    add_version(home.session_factory, "iris", "1")
    reports: list[dict[str, Any]] = []

    ticks = watch.watch(home, 1.0, True, reports.append, model_name="iris")

    assert ticks == 1
    (report,) = reports
    assert report["status"] == "ticked"
    assert report["agents"] == ["model_deployer:monitored"]


def retraining(model: str, **request: Any) -> dict[str, Any]:
    return {
        "to": "retraining",
        "request": {"model_name": model, "trigger": "drift", **request},
        "reason": "drift on 3 features",
        "source": "model_monitor",
    }


def test_a_retraining_handed_on_in_a_tick_is_recorded_once_for_the_worker(
    home: Container,
) -> None:
    first = watch.record_deferred(home, [retraining("iris")])
    again = watch.record_deferred(home, [retraining("iris")])
    named = watch.record_deferred(home, [retraining("churn", retraining_run_id="run-7")])

    (recorded,) = first
    assert again == []  # one retraining of a model at a time
    assert named == [{"model_name": "churn", "retraining_run_id": "run-7", "to": "retraining"}]
    with home.reader() as uow:
        run = uow.retraining.active_run("iris")
        assert run is not None and run.id == recorded["retraining_run_id"]
        assert (run.status, run.trigger, run.reason) == (
            "requested",
            "drift",
            "drift on 3 features",
        )
        assert uow.retraining.active_run("churn") is None
