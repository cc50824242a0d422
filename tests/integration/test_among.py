"""``database.among``: ``column IN (keys)`` read as each database reads it cheaply (one array
parameter on PostgreSQL), with the same rows as ``IN`` on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from database.among import among
from database.models_safety import ModelLockRow
from tests.integration.db_helpers import migrated_factory

NAMES = [f"model-{n:04d}" for n in range(2500)]
"""Stored locks: more names than one ``chunks`` part (2,000) holds."""


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    factory = migrated_factory(database_url)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with factory() as session:
        session.add_all(
            ModelLockRow(model_name=name, holder="h", token=n, acquired_at=at, expires_at=at)
            for n, name in enumerate(NAMES)
        )
        session.commit()
    yield factory
    engine = factory.kw["bind"]
    engine.dispose()


CASES = {
    "no keys match no row": [],
    "one key": ["model-0007"],
    "keys stored and not stored: only the stored ones": ["model-0001", "nope", "model-2499"],
    "a key twice: its row once": ["model-0003", "model-0003"],
    "a name with quotes and commas is one key": ["a'b,\"c}{", "model-0002"],
    "every stored name": NAMES,
}


@pytest.mark.parametrize("keys", CASES.values(), ids=CASES.keys())
def test_among_finds_exactly_the_rows_whose_key_is_listed(
    factory: sessionmaker[Session], keys: list[str]
) -> None:
    with factory() as session:
        found = session.scalars(
            select(ModelLockRow.model_name).where(among(session, ModelLockRow.model_name, keys))
        ).all()
    assert sorted(found) == sorted(set(keys) & set(NAMES))


def test_among_reads_integer_keys_too(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        found = session.scalars(
            select(ModelLockRow.token).where(among(session, ModelLockRow.token, [5, 9, 99999]))
        ).all()
    assert sorted(found) == [5, 9]


def test_a_cached_statement_reads_each_executions_own_keys(
    factory: sessionmaker[Session],
) -> None:
    """The statement is compiled once and cached: the keys are parameters, never baked in."""
    with factory() as session:
        reads = [
            session.scalars(
                select(ModelLockRow.model_name).where(among(session, ModelLockRow.model_name, k))
            ).all()
            for k in (["model-0001"], ["model-0002", "model-0004"], [])
        ]
    assert reads == [["model-0001"], ["model-0002", "model-0004"], []]


def test_postgresql_gets_one_array_parameter_and_sqlite_a_list(
    factory: sessionmaker[Session],
) -> None:
    with factory() as session:
        clause = among(session, ModelLockRow.model_name, ["a", "b", "c"])
        text = str(clause.compile(dialect=session.get_bind().dialect))
    if factory.kw["bind"].dialect.name == "postgresql":
        assert "ANY" in text and text.count("%(") == 1
    else:
        assert " IN " in text
