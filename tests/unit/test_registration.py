"""Register and sync keep the registry and the state DB in step (fake registry, real SQLite)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from agents.handlers.registration import parse_metrics, register_version, sync_registry
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import BadInputError, ConflictError
from lifecycle.stages import ModelStage
from tests.fakes import FakeRegistry
from tests.integration.db_helpers import add_version, migrated_factory


@pytest.fixture
def factory(sqlite_url: str) -> sessionmaker[Session]:
    return migrated_factory(sqlite_url)


def uow_factory(factory: sessionmaker[Session]) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(factory)


def test_registering_writes_the_registry_and_the_database_row_together(
    factory: sessionmaker[Session],
) -> None:
    registry = FakeRegistry()
    result = register_version(
        lambda: uow_factory(factory),
        registry,
        "iris",
        "runs:/abc/model",
        "alice",
        metrics={"accuracy": 0.95},
        criteria=["accuracy >= 0.9"],
    )
    assert result["version"] == "1"
    assert result["stage"] == "development"
    assert result["criteria"] == ["accuracy>=0.9"]
    with SqlAlchemyUnitOfWork(factory) as uow:
        row = uow.models.get("iris", "1")
        assert row.metrics == {"accuracy": 0.95}
        assert row.criteria == ["accuracy>=0.9"]
        assert [e.action for e in uow.audit.list()] == ["registered"]


@pytest.mark.parametrize(
    ("name", "criteria"),
    [("9lives", []), ("has space", []), ("iris", ["accuracy=>0.9"])],
    ids=["a name starting with a digit", "a name with a space", "a malformed criterion"],
)
def test_bad_input_is_refused_before_anything_is_registered(
    factory: sessionmaker[Session], name: str, criteria: list[str]
) -> None:
    registry = FakeRegistry()
    with pytest.raises(BadInputError):
        register_version(
            lambda: uow_factory(factory), registry, name, "runs:/x/m", "alice", criteria=criteria
        )
    assert registry.versions == {}


def test_a_database_failure_undoes_the_registry_version(factory: sessionmaker[Session]) -> None:
    registry = FakeRegistry()
    register_version(lambda: uow_factory(factory), registry, "iris", "runs:/a/m", "alice")
    add_version(factory, name="iris", version="2")  # a stray row: registering v2 must fail
    with pytest.raises(ConflictError):
        register_version(lambda: uow_factory(factory), registry, "iris", "runs:/b/m", "alice")
    assert [v.version for v in registry.list_versions("iris")] == ["1"]


def test_sync_adds_as_development_reports_drift_and_a_second_sync_changes_nothing(
    factory: sessionmaker[Session],
) -> None:
    registry = FakeRegistry()
    register_version(lambda: uow_factory(factory), registry, "iris", "runs:/a/m", "alice")
    register_version(lambda: uow_factory(factory), registry, "iris", "runs:/b/m", "alice")
    registry.register("wine", "runs:/c/m")  # registered behind our back
    registry.set_stage("wine", "1", ModelStage.PRODUCTION)  # ... and tagged production
    registry.set_stage("iris", "1", ModelStage.STAGING)  # moved behind our back
    registry.delete_version("iris", "2")  # deleted in MLflow

    first = sync_registry(lambda: uow_factory(factory), registry, "sync")
    assert first.added == ["wine/1"]
    assert first.drift == [
        {"model_version_id": "iris/1", "stage": {"state_db": "development", "registry": "staging"}},
        {
            "model_version_id": "wine/1",
            "stage": {"state_db": "development", "registry": "production"},
        },
    ]
    assert first.missing_in_registry == ["iris/2"]

    second = sync_registry(lambda: uow_factory(factory), registry, "sync")
    assert second.added == []
    assert second.drift == first.drift  # still reported, never adopted
    assert second.missing_in_registry == ["iris/2"]  # still reported, never silently dropped
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.models.get("iris", "1").stage == "development"
        assert uow.models.get("wine", "1").stage == "development"
        assert uow.models.get("iris", "2").stage == "development"
        drift_events = [e for e in uow.audit.list() if e.action == "sync_drift"]
        assert [e.subject for e in drift_events] == ["iris/1", "wine/1"]  # once each
        assert uow.audit.verify().ok


def test_sync_reports_a_name_register_would_refuse_and_adds_nothing_of_it(
    factory: sessionmaker[Session],
) -> None:
    registry = FakeRegistry()
    registry.register("9lives", "runs:/a/m")  # register refuses a name not starting with a letter
    registry.register("has space", "runs:/b/m")
    report = sync_registry(lambda: uow_factory(factory), registry, "sync")
    assert report.added == []
    assert [r["model_name"] for r in report.refused] == ["9lives", "has space"]
    assert report.refused[0]["reason"].startswith("invalid model name '9lives'")
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.models.list() == []
        refused = [e.subject for e in uow.audit.list() if e.action == "sync_refused"]
    assert refused == ["9lives", "has space"]


def test_sync_adds_a_tagged_version_as_development_with_its_metrics_marked_registry(
    factory: sessionmaker[Session],
) -> None:
    registry = FakeRegistry()
    registry.register("wine", "runs:/c/m", metrics={"accuracy": 1.0})
    registry.set_stage("wine", "1", ModelStage.STAGING)
    report = sync_registry(lambda: uow_factory(factory), registry, "sync")
    assert report.added == ["wine/1"]
    with SqlAlchemyUnitOfWork(factory) as uow:
        row = uow.models.get("wine", "1")
        assert (row.stage, dict(row.metrics)) == ("development", {"accuracy": 1.0})
        assert row.metric_sources == {"accuracy": "registry"}


def test_register_keeps_which_metrics_the_caller_typed(factory: sessionmaker[Session]) -> None:
    registry = FakeRegistry()
    register_version(
        lambda: uow_factory(factory), registry, "iris", "runs:/a/m", "alice", {"latency_ms": 3.0}
    )
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.models.get("iris", "1").metric_sources == {"latency_ms": "caller"}


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [(["accuracy=0.93"], {"accuracy": 0.93}), (["a=1", "b=-2e-3"], {"a": 1.0, "b": -0.002})],
    ids=["one metric", "several metrics with exponents"],
)
def test_metrics_are_read_from_key_value_pairs(
    pairs: list[str], expected: dict[str, float]
) -> None:
    assert parse_metrics(pairs) == expected


@pytest.mark.parametrize("pair", ["accuracy", "=0.9", "accuracy=high"])
def test_malformed_metrics_are_bad_input(pair: str) -> None:
    with pytest.raises(BadInputError, match=r"accuracy=0\.93"):
        parse_metrics([pair])
