"""Read-only transactions: they read beside a writer, never write, and leave writers as they were.

On SQLite a reader begins a deferred transaction (WAL lets it read the last committed snapshot
while another connection holds the write lock); a writer still begins with BEGIN IMMEDIATE.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from database.engine import make_engine, read_session
from database.models import ModelVersionRow
from database.routing import DbMetricsSource, DbRouter
from database.uow import ReadOnlyTransactionError, SqlAlchemyUnitOfWork
from lifecycle.errors import InfrastructureError
from lifecycle.metrics import ShadowStats
from lifecycle.ports import Routes
from lifecycle.records import model_version_id
from lifecycle.stages import DeploymentStatus, ModelStage
from tests.audit_keys import keyed_factory
from tests.integration.db_helpers import add_version, deployment_row, migrated_factory


@pytest.fixture
def factory(database_url: str) -> sessionmaker[Session]:
    factory = migrated_factory(database_url)
    add_version(factory)
    return factory


@pytest.fixture
def sqlite_factory(sqlite_url: str) -> sessionmaker[Session]:
    factory = migrated_factory(sqlite_url)
    add_version(factory, stage=ModelStage.PRODUCTION)
    with SqlAlchemyUnitOfWork(factory) as uow:
        row = deployment_row("d1", DeploymentStatus.ACTIVE, url="http://d1")
        row.target_stage = ModelStage.PRODUCTION.value
        uow.deployments.add(row)
        uow.audit.append("alice", "deploy", "fraud_detector", {"why": "test"})
        uow.commit()
    router = DbRouter(factory, "alice")
    router.set_routes(Routes("fraud_detector", {"d1": 100}))
    comparison = {"shadow_deployment_id": "d1", "model_name": "fraud_detector", "compared": 4}
    router.store_stats("gateway-1", [], [{**comparison, "agreed": 3, "shadow_errors": 1}])
    return factory


@pytest.fixture
def rival_writer(sqlite_url: str, sqlite_factory: sessionmaker[Session]) -> Iterator[None]:
    """Another connection holds SQLite's write lock, with an uncommitted stage change."""
    path = make_url(sqlite_url).database
    assert path is not None
    rival = sqlite3.connect(path, timeout=0, isolation_level=None)
    rival.execute("BEGIN IMMEDIATE")
    rival.execute("UPDATE ml_model_registry SET stage = 'staging'")
    rival.execute("UPDATE routes SET revision = revision + 1")
    yield
    rival.execute("ROLLBACK")
    rival.close()


def stage_read_by(factory: sessionmaker[Session], read_only: bool) -> str:
    with SqlAlchemyUnitOfWork(factory, read_only=read_only) as uow:
        return uow.models.get("fraud_detector", "2").stage


def new_version(version: str) -> ModelVersionRow:
    return ModelVersionRow(
        model_version_id=model_version_id("fraud_detector", version),
        model_name="fraud_detector",
        version=version,
        stage=ModelStage.DEVELOPMENT.value,
        artifact_uri=f"models:/fraud_detector/{version}",
    )


def versions_of(factory: sessionmaker[Session]) -> list[str]:
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        return sorted(row.version for row in uow.models.list("fraud_detector"))


@pytest.mark.usefixtures("rival_writer")
def test_a_reader_reads_the_committed_state_while_another_connection_holds_the_write_lock(
    sqlite_factory: sessionmaker[Session],
) -> None:
    assert stage_read_by(sqlite_factory, read_only=True) == "production"


@pytest.mark.usefixtures("rival_writer")
def test_the_gateway_route_poll_and_figures_do_not_wait_for_a_writer(
    sqlite_factory: sessionmaker[Session],
) -> None:
    router = DbRouter(sqlite_factory)

    assert router.revisions() == {"fraud_detector": 1}
    assert router.load().routes["fraud_detector"][1] == 1
    assert router.get_routes("fraud_detector") == Routes("fraud_detector", {"d1": 100.0})
    assert DbMetricsSource(sqlite_factory).shadow_stats("d1") == ShadowStats(4, 3, 1)


@pytest.mark.usefixtures("rival_writer")
def test_the_audit_chain_verifies_while_another_connection_holds_the_write_lock(
    sqlite_factory: sessionmaker[Session],
) -> None:
    with SqlAlchemyUnitOfWork(sqlite_factory, read_only=True) as uow:
        found = uow.audit.verify()

    assert (found.ok, found.checked) == (True, 2)  # the deploy and the routes.set events


def test_a_reader_does_not_take_the_sqlite_write_lock(
    sqlite_url: str, sqlite_factory: sessionmaker[Session]
) -> None:
    path = make_url(sqlite_url).database
    assert path is not None
    with SqlAlchemyUnitOfWork(sqlite_factory, read_only=True) as uow:
        uow.models.list()
        rival = sqlite3.connect(path, timeout=0, isolation_level=None)
        rival.execute("BEGIN IMMEDIATE")  # would be "database is locked" under a writer
        rival.execute("ROLLBACK")
        rival.close()


def test_a_reader_beside_an_open_write_unit_of_work_sees_only_what_was_committed(
    factory: sessionmaker[Session],
) -> None:
    with SqlAlchemyUnitOfWork(factory) as writer:
        writer.models.get("fraud_detector", "2").stage = ModelStage.STAGING.value
        writer.flush()  # the writer holds its lock (SQLite) or the row's lock (PostgreSQL)

        assert stage_read_by(factory, read_only=True) == "development"

        writer.commit()
    assert stage_read_by(factory, read_only=True) == "staging"


def test_a_read_only_unit_of_work_refuses_to_commit_and_writes_nothing(
    factory: sessionmaker[Session],
) -> None:
    with (
        pytest.raises(ReadOnlyTransactionError, match="cannot commit"),
        SqlAlchemyUnitOfWork(factory, read_only=True) as uow,
    ):
        uow.models.add(new_version("3"))
        uow.commit()

    assert not uow.committed
    assert versions_of(factory) == ["2"]


def test_a_read_only_unit_of_work_refuses_to_flush(factory: sessionmaker[Session]) -> None:
    with (
        pytest.raises(ReadOnlyTransactionError, match="cannot flush"),
        SqlAlchemyUnitOfWork(factory, read_only=True) as uow,
    ):
        uow.models.add(new_version("3"))
        uow.flush()

    assert versions_of(factory) == ["2"]


def test_the_database_itself_refuses_a_write_in_a_read_only_unit_of_work(
    factory: sessionmaker[Session],
) -> None:
    with (
        pytest.raises(ReadOnlyTransactionError, match="tried to write"),
        SqlAlchemyUnitOfWork(factory, read_only=True) as uow,
    ):
        uow.models.add(new_version("3"))
        uow.models.list()  # the autoflush sends the insert; the database refuses it

    assert versions_of(factory) == ["2"]


def test_a_read_only_session_refuses_raw_sql_writes(factory: sessionmaker[Session]) -> None:
    with read_session(factory) as session, pytest.raises(DBAPIError, match=r"(?i)read-?only"):
        session.execute(text("UPDATE ml_model_registry SET stage = 'staging'"))

    assert stage_read_by(factory, read_only=False) == "development"


def test_a_connection_that_served_a_reader_writes_again(database_url: str) -> None:
    migrated_factory(database_url)
    engine = make_engine(database_url)
    factory = keyed_factory(engine)
    for version in ("1", "2", "3"):
        assert versions_of(factory) == [str(v) for v in range(1, int(version))]
        with SqlAlchemyUnitOfWork(factory) as uow:
            uow.models.add(new_version(version))
            uow.commit()

    assert versions_of(factory) == ["1", "2", "3"]
    engine.dispose()


def test_a_reader_on_a_server_that_is_down_is_an_infrastructure_error_of_one_line() -> None:
    url = "postgresql+psycopg://deployer@127.0.0.1:1/deployer"  # nothing listens on port 1
    factory = keyed_factory(make_engine(url))
    with (
        pytest.raises(InfrastructureError, match="state database is unavailable") as caught,
        SqlAlchemyUnitOfWork(factory, read_only=True),
    ):
        pass
    assert "\n" not in str(caught.value)
