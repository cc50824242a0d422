"""The agent graph on the real adapters: MLflow registry, state DB, LangGraph checkpointer and
store, on SQLite and on a real PostgreSQL (PostgresSaver and PostgresStore in the same DB).

An approval is answered by a second container built from scratch, as another process would:
the run resumes from the checkpoint alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from agents.bootstrap import Container, bootstrap
from agents.handlers import operations
from agents.handlers.registration import register_version
from lifecycle.errors import PermissionDeniedError, ProductionCriteriaNotMetError
from mlops.mlflow_env import tracking
from mlops.training import train_and_log
from tests import operations_calls
from tests.access_fixtures import grant_roles
from tests.mlflow_template import seed_mlflow_store
from tests.schema_template import migrated

MODEL = "churn"


@pytest.fixture
def home(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    for key, value in {
        "DEPLOYER_HOME": str(home),
        "DEPLOYER_DATABASE_URL": database_url,
        "DEPLOYER_SHADOW_MIN_HOURS": "0",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    migrated(database_url)
    c = bootstrap()
    grant_roles(c, {"alice": "deployer", "bob": "approver"})  # four eyes: bob approves alice
    c.close()
    return home


def _container() -> Container:
    container = bootstrap()
    container.settings.ensure_home()
    return container


def test_a_production_promotion_waits_and_a_fresh_process_approves_it(home: Path) -> None:
    first = _container()
    seed_mlflow_store(first.settings.tracking_uri)
    trained = train_and_log(first.settings.tracking_uri, artifact_root=first.settings.artifact_root)
    version = register_version(
        first.uow, first.registry, MODEL, trained.model_uri, "alice", criteria=["accuracy>=0.5"]
    )["version"]
    for stage in ("staging", "shadow"):
        assert (
            operations_calls.promote(first, MODEL, version, stage, "alice")["status"] == "promoted"
        )
    waiting = operations_calls.promote(first, MODEL, version, "production", "alice", reason="go")
    assert waiting["status"] == "awaiting_approval"
    approval_id = waiting["approval_id"]
    first.close()

    second = _container()  # nothing shared with the first but the databases
    with pytest.raises(PermissionDeniedError):
        operations.decide(second, approval_id, "alice", "approve")
    (pending,) = operations.list_approvals(second)
    assert pending["state"] == "pending"
    # The approver sees each figure the gates judged and that the training run logged it.
    assert pending["metrics"] == [
        {"metric": name, "value": value, "source": "run"}
        for name, value in sorted(trained.metrics.items())
    ]
    done = operations.decide(second, approval_id, "bob", "approve", "ship it")
    record = done["version_record"]
    assert (done["status"], record["to_stage"], record["changed_by"]) == (
        "promoted",
        "production",
        "bob",
    )
    assert record["approval_id"] == approval_id
    with tracking(second.settings.tracking_uri):
        alias = MlflowClient().get_model_version_by_alias(MODEL, "production")
    assert str(alias.version) == version
    with second.uow() as uow:
        assert uow.models.get(MODEL, version).stage == "production"
        assert uow.approvals.get(approval_id).approver == "bob"
    with second.open_memory() as memory:
        kinds = [e["kind"] for e in memory.episodes(MODEL)]
    assert kinds[:2] == ["promotion", "approval"]
    second.close()


def test_unmet_production_criteria_are_all_listed_and_nothing_moves(home: Path) -> None:
    c = _container()
    seed_mlflow_store(c.settings.tracking_uri)
    trained = train_and_log(c.settings.tracking_uri, artifact_root=c.settings.artifact_root)
    version = register_version(
        c.uow, c.registry, MODEL, trained.model_uri, "alice", criteria=["accuracy>=0.999"]
    )["version"]
    for stage in ("staging", "shadow"):
        operations_calls.promote(c, MODEL, version, stage, "alice")
    with c.uow() as uow:
        events = len(uow.audit.list())
    with pytest.raises(ProductionCriteriaNotMetError) as refused:
        operations_calls.promote(c, MODEL, version, "production", "alice")
    assert any("misses accuracy>=0.999" in reason for reason in refused.value.unmet)
    with c.uow() as uow:
        assert uow.models.get(MODEL, version).stage == "shadow"
        assert len(uow.audit.list()) == events
        assert list(uow.approvals.list(None)) == []
    assert c.registry.get_version(MODEL, version).stage.value == "shadow"
    c.close()
