"""What a gateway polls and loads from the state DB (issues 16 and 17), on SQLite and on a real
PostgreSQL: the fingerprint is one row that moves with every change a gateway serves (a table
saved or cleared, a deployment's server, a registered version, a capture setting) and with
nothing else; a load of some models reads only their tables; a flush that names only its
retired rows marks every other row of its gateway as reported."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from database.capture import set_capture
from database.models import DeploymentRow, GatewayStatsRow
from database.routing import DbRouter
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.ports import Routes
from lifecycle.records import utcnow
from lifecycle.stages import DeploymentStatus, ModelStage
from mlops.gateway.stats import DeploymentStats, ShadowComparison
from tests.integration.db_helpers import add_version, deployment_row, migrated_factory


def world(database_url: str) -> sessionmaker[Session]:
    factory = migrated_factory(database_url)
    for model in ("iris", "rose"):
        add_version(factory, model, "1", ModelStage.PRODUCTION)
    with SqlAlchemyUnitOfWork(factory) as uow:
        for deployment_id, model in (("i1", "iris"), ("i2", "iris"), ("r1", "rose")):
            url = f"http://127.0.0.1/{deployment_id}"
            row = deployment_row(
                deployment_id, DeploymentStatus.ACTIVE, model, "1", url, ModelStage.PRODUCTION
            )
            uow.deployments.add(row)
        uow.commit()
    return factory


def moved(before: object, after: object) -> set[str]:
    parts = ("routes", "deployments", "models", "captures")
    return {p for p in parts if getattr(before, p) != getattr(after, p)}


def test_the_fingerprint_moves_with_each_change_a_gateway_serves_and_only_its_part(
    database_url: str,
) -> None:
    factory = world(database_url)
    router = DbRouter(factory)
    start = router.fingerprint()
    assert router.fingerprint() == start, "nothing changed: the same fingerprint"
    steps = []
    router.save(Routes("iris", {"i1": 100}), "alice")
    steps.append(router.fingerprint())
    router.save(Routes("iris", {"i1": 50, "i2": 50}), "alice")
    steps.append(router.fingerprint())
    with SqlAlchemyUnitOfWork(factory) as uow:
        row = uow.session.get(DeploymentRow, "i2")
        assert row is not None
        row.endpoint_url = "http://127.0.0.1/i2-restarted"
        uow.commit()
    steps.append(router.fingerprint())
    add_version(factory, "iris", "2", ModelStage.STAGING)
    steps.append(router.fingerprint())
    with SqlAlchemyUnitOfWork(factory) as uow:
        set_capture(uow, "iris", 10, "alice")
        uow.commit()
    steps.append(router.fingerprint())
    router.clear("iris", "alice")
    steps.append(router.fingerprint())
    parts = [moved(a, b) for a, b in zip([start, *steps[:-1]], steps, strict=True)]
    assert parts == [
        {"routes"},
        {"routes"},
        {"deployments"},
        {"models"},
        {"captures"},
        {"routes"},
    ]


def test_a_load_of_some_models_reads_only_their_tables(database_url: str) -> None:
    router = DbRouter(world(database_url))
    router.save(Routes("iris", {"i1": 100}), "alice")
    router.save(Routes("rose", {"r1": 100}), "alice")
    state = router.load(["rose"])
    assert set(state.routes) == {"rose"} and set(state.upstreams) == {"r1"}
    assert state.models == frozenset(), "the caller keeps its known models"
    assert set(router.load().routes) == {"iris", "rose"}


def test_a_flush_naming_only_its_retired_rows_marks_every_other_row_of_its_gateway(
    database_url: str,
) -> None:
    factory = world(database_url)
    router = DbRouter(factory)
    figures = {d: DeploymentStats(d, "iris") for d in ("kept", "changed", "retired")}
    shadow = ShadowComparison("kept", "iris")
    router.store_stats("gw-a", [f.snapshot() for f in figures.values()], [shadow.snapshot()])
    router.store_stats("gw-b", [figures["kept"].snapshot()], [])
    old = utcnow() - timedelta(seconds=60)
    with factory() as session:
        session.execute(update(GatewayStatsRow).values(updated_at=old))
        session.commit()
    figures["changed"].record(4.0, error=True)
    retired = [("deployment", "retired")]
    router.store_stats("gw-a", [figures["changed"].snapshot()], [], retired=retired)
    with factory() as session:
        rows = {
            (r.gateway_id, r.kind, r.deployment_id): r
            for r in session.scalars(select(GatewayStatsRow))
        }
    assert len(rows) == 5
    assert rows["gw-a", "deployment", "changed"].figures["total"]["errors"] == 1
    fresh = {key for key, r in rows.items() if r.updated_at > old}
    assert fresh == {
        ("gw-a", "deployment", "changed"),
        ("gw-a", "deployment", "kept"),
        ("gw-a", "shadow", "kept"),
    }, "the retired row and the other gateway's are left as they were"


@pytest.mark.postgres
def test_a_poll_whose_kept_connection_died_fails_once_and_the_next_one_reconnects(
    postgres_url: str,
) -> None:
    """On PostgreSQL the poll keeps one autocommit connection (one round trip a poll); a
    connection the server dropped (a restart, an idle timeout) fails that poll only."""
    factory = world(postgres_url)
    router = DbRouter(factory)
    first = router.fingerprint()
    with factory() as session:
        idle = text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'idle'"
        )
        pids = [pid for (pid,) in session.execute(idle)]
        assert pids, "the poll's kept connection was there to drop"
        session.execute(
            text("SELECT pg_terminate_backend(p) FROM unnest(:pids) AS p"), {"pids": pids}
        )
        gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)")
        for _ in range(100):  # the server ends them a moment after it was asked
            if session.scalar(gone, {"pids": pids}) == 0:
                break
            time.sleep(0.05)
    with pytest.raises(OperationalError):
        router.fingerprint()
    assert router.fingerprint() == first


def test_on_sqlite_a_poll_reads_again_only_after_a_commit(tmp_path: Path) -> None:
    """SQLite's aggregates scan every row in the gateway's own process: a poll with nothing
    committed since the last (``PRAGMA data_version`` unmoved) answers the last row unread."""
    router = DbRouter(world(f"sqlite:///{tmp_path / 'state.db'}"))
    reader = router._poller
    first = router.fingerprint()
    runs = reader.reads
    assert router.fingerprint() == first and reader.reads == runs, "no commit: not read again"
    router.save(Routes("iris", {"i1": 100}), "alice")  # another connection commits
    moved_to = router.fingerprint()
    assert moved_to != first and reader.reads == runs + 1
    assert router.fingerprint() == moved_to and reader.reads == runs + 1
