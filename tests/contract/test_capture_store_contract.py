"""The capture store port (``mlops.gateway.capture.CaptureStore``): the fake and the state
database's adapter (``database.capture.DbCaptureStore``, on SQLite and PostgreSQL) pass the
same tests: percents above 0 only, idempotent on request id, retention by age and by rows per
model that deletes the old rows only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from database.capture import DbCaptureStore, set_capture
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.capture import PredictionRecord
from mlops.gateway.capture import CaptureStore
from tests.fakes import FakeCaptureStore
from tests.integration.db_helpers import add_version, migrated_factory

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@dataclass
class Side:
    store: CaptureStore
    set_percent: Callable[[str, float], None]
    stored: Callable[[], set[str]]


def _db_side(factory: sessionmaker[Session]) -> Side:
    for name in ("iris", "churn"):
        add_version(factory, name, "1")

    def set_percent(model: str, percent: float) -> None:
        with SqlAlchemyUnitOfWork(factory) as uow:
            set_capture(uow, model, percent, "tester")
            uow.commit()

    def stored() -> set[str]:
        from sqlalchemy import select

        from database.models_watch import PredictionRow

        with factory() as session:
            return set(session.scalars(select(PredictionRow.request_id)))

    return Side(DbCaptureStore(factory), set_percent, stored)


@pytest.fixture(
    params=["fake", "db-sqlite", pytest.param("db-postgres", marks=pytest.mark.postgres)]
)
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    kind = str(request.param)
    if kind == "fake":
        fake = FakeCaptureStore()
        yield Side(fake, fake.set_percent, lambda: set(fake.rows))
        return
    url = str(request.getfixturevalue("postgres_url" if "postgres" in kind else "sqlite_url"))
    factory = migrated_factory(url)
    yield _db_side(factory)
    factory.kw["bind"].dispose()


def row(rid: str, model: str = "iris", age_seconds: float = 0.0) -> PredictionRecord:
    return PredictionRecord(
        rid,
        model,
        "1",
        "d1",
        NOW - timedelta(seconds=age_seconds),
        2.5,
        200,
        {"instances": [[5.1, 3.5, 1.4, 0.2]]},
        {"predictions": [0]},
        "gw-1",
    )


def test_only_models_captured_above_zero_have_a_percent(side: Side) -> None:
    assert dict(side.store.percents()) == {}
    side.set_percent("iris", 10.0)
    side.set_percent("churn", 0.0)
    assert dict(side.store.percents()) == {"iris": 10.0}
    side.set_percent("iris", 100.0)
    assert dict(side.store.percents()) == {"iris": 100.0}


def test_a_stored_request_id_is_skipped_so_a_retried_batch_never_duplicates(side: Side) -> None:
    assert side.store.store([row("a"), row("b")]) == 2
    assert side.store.store([row("b"), row("c")]) == 1
    assert side.store.store([]) == 0
    assert side.stored() == {"a", "b", "c"}


def test_retention_deletes_rows_older_than_the_age_only(side: Side) -> None:
    side.store.store([row("new"), row("hour", age_seconds=3500), row("old", age_seconds=3700)])
    side.store.store([row("churn-old", "churn", age_seconds=9000)])
    assert side.store.apply_retention(NOW, 3600, 1000) == 2
    assert side.stored() == {"new", "hour"}


def test_retention_keeps_the_newest_rows_of_each_model(side: Side) -> None:
    side.store.store([row(f"i{age}", age_seconds=age) for age in range(5)])
    side.store.store([row(f"c{age}", "churn", age_seconds=age) for age in range(2)])
    assert side.store.apply_retention(NOW, 3600, 3) == 2
    assert side.stored() == {"i0", "i1", "i2", "c0", "c1"}
    assert side.store.apply_retention(NOW, 3600, 3) == 0
