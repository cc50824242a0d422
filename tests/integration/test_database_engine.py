"""Engines: bad URLs and unreachable servers are one readable line; SQLite is set up for racing."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from database import migrate
from database.engine import make_engine
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import ConfigurationError, InfrastructureError
from tests.audit_keys import keyed_factory
from tests.integration.db_helpers import add_version, migrated_factory


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not-a-url", "cannot read database URL"),
        ("mysql://root@localhost/deployer", "unsupported database 'mysql'"),
        ("sqlite:////proc/no-such-folder/deployer.db", "cannot create the folder"),
    ],
    ids=["a malformed URL", "an unsupported backend", "an SQLite folder that cannot be made"],
)
def test_an_unusable_url_is_a_configuration_error_of_one_line(url: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words) as caught:
        make_engine(url)
    assert "\n" not in str(caught.value)


def test_the_folder_of_an_sqlite_file_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'deployer.db'}"
    assert migrate.upgrade(url) == migrate.head_revision()
    assert (tmp_path / "a" / "b" / "deployer.db").is_file()


def test_a_postgresql_url_without_a_driver_uses_psycopg() -> None:
    engine = make_engine("postgresql://deployer@127.0.0.1:1/deployer")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_a_server_that_is_down_is_an_infrastructure_error_of_one_line() -> None:
    url = "postgresql+psycopg://deployer@127.0.0.1:1/deployer"  # nothing listens on port 1
    with pytest.raises(InfrastructureError, match="state database is unavailable") as caught:
        migrate.upgrade(url)
    assert "\n" not in str(caught.value)
    factory = keyed_factory(make_engine(url))
    with pytest.raises(InfrastructureError), SqlAlchemyUnitOfWork(factory) as uow:
        uow.models.list()


@pytest.mark.postgres
def test_an_unknown_role_is_an_infrastructure_error(postgres_url: str) -> None:
    url = make_url(postgres_url).set(username="nobody_here").render_as_string(False)
    with pytest.raises(InfrastructureError, match="nobody_here") as caught:
        migrate.current_revision(url)
    assert "\n" not in str(caught.value)


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    engine.dispose()


def test_an_sqlite_transaction_takes_the_write_lock_when_it_begins(sqlite_url: str) -> None:
    factory = migrated_factory(sqlite_url)
    path = make_url(sqlite_url).database
    assert path is not None
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.models.list()  # only a read, yet a rival writer must already wait
        rival = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            rival.execute("BEGIN IMMEDIATE")
        rival.close()


def test_times_read_back_are_the_same_aware_utc_instants(database_url: str) -> None:
    factory = migrated_factory(database_url)
    add_version(factory)
    moment = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.models.get("fraud_detector", "2").stage_changed_at = moment
        uow.commit()
    with SqlAlchemyUnitOfWork(factory) as uow:
        read = uow.models.get("fraud_detector", "2").stage_changed_at
    assert read == moment
    assert read.utcoffset() is not None
    assert read.utcoffset() == moment.utcoffset()
