"""Routing tables and gateway figures in the state DB, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from agents.ports import Services
from agents.queries.traffic import traffic_stats
from database.models import GatewayStatsRow
from database.routing import DbMetricsSource, DbRouter
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import InvalidRouteError, UnknownModelError
from lifecycle.latency import bucket_of
from lifecycle.metrics import ShadowStats
from lifecycle.ports import Routes
from lifecycle.records import utcnow
from lifecycle.stages import DeploymentStatus, ModelStage
from mlops.gateway.stats import DeploymentStats, ShadowComparison
from tests.integration.db_helpers import add_version, deployment_row, migrated_factory


@pytest.fixture
def factory(database_url: str) -> sessionmaker[Session]:
    factory = migrated_factory(database_url)
    add_version(factory, "iris", "1", ModelStage.PRODUCTION)
    with SqlAlchemyUnitOfWork(factory) as uow:
        for deployment_id, status in (
            ("d1", DeploymentStatus.ACTIVE),
            ("d2", DeploymentStatus.ACTIVE),
            ("dead", DeploymentStatus.ROLLED_BACK),
        ):
            url = f"http://127.0.0.1/{deployment_id}"
            row = deployment_row(deployment_id, status, "iris", "1", url, ModelStage.PRODUCTION)
            uow.deployments.add(row)
        uow.commit()
    return factory


def test_a_table_round_trips_with_a_growing_revision_and_an_audit_event(
    factory: sessionmaker[Session],
) -> None:
    router = DbRouter(factory, "alice")
    _, first = router.save(Routes("iris", {"d1": 90, "d2": 10}), "alice")
    saved, second = router.save(
        Routes("iris", {"d1": 50, "d2": 50}, stable_deployment_id="d1"), "bob"
    )
    assert (first, second) == (1, 2)
    assert router.get_routes("iris") == saved
    assert router.revisions() == {"iris": 2}
    state = router.load()
    assert state.routes["iris"] == (saved, 2)
    assert set(state.upstreams) == {"d1", "d2"}
    assert "iris" in state.models
    with SqlAlchemyUnitOfWork(factory) as uow:
        events = [e for e in uow.audit.list("iris") if e.action == "routes.set"]
        assert [e.actor for e in events] == ["alice", "bob"]
        assert uow.audit.verify().ok


@pytest.mark.parametrize(
    "routes",
    [
        pytest.param(Routes("iris", {"d1": 70, "d2": 20}), id="weights-not-100"),
        pytest.param(Routes("iris", {"d1": 50, "dead": 50}), id="a-rolled-back-deployment"),
        pytest.param(Routes("iris", {"d1": 50, "ghost": 50}), id="an-unknown-deployment"),
    ],
)
def test_a_bad_table_is_refused_and_the_stored_one_stays(
    factory: sessionmaker[Session], routes: Routes
) -> None:
    router = DbRouter(factory)
    good, _ = router.save(Routes("iris", {"d1": 100}), "alice")
    with pytest.raises(InvalidRouteError):
        router.save(routes, "mallory")
    assert router.get_routes("iris") == good
    assert router.revisions() == {"iris": 1}


def test_a_table_for_an_unknown_model_is_refused(factory: sessionmaker[Session]) -> None:
    with pytest.raises(UnknownModelError):
        DbRouter(factory).save(Routes("nope", {"d1": 100}), "alice")


def test_clearing_a_table_leaves_the_model_without_routes(factory: sessionmaker[Session]) -> None:
    router = DbRouter(factory)
    router.save(Routes("iris", {"d1": 100}), "alice")
    assert router.clear("iris", "alice") is True
    assert router.clear("iris", "alice") is False
    assert router.get_routes("iris") is None


def test_figures_of_several_gateways_are_merged(factory: sessionmaker[Session]) -> None:
    router = DbRouter(factory)
    for gateway_id, errors in (("gw-a", 1), ("gw-b", 3)):
        stats = DeploymentStats("d1", "iris")
        for i in range(10):
            stats.record(4.0, error=i < errors)
        shadow = ShadowComparison("d2", "iris")
        shadow.record(4.0, 5.0, compared=10, agreed=9)
        router.store_stats(gateway_id, [stats.snapshot()], [shadow.snapshot()])
    router.store_stats("gw-a", [], [])  # a gateway replaces its own rows, nobody else's
    source = DbMetricsSource(factory)
    window = source.metrics("d1")
    assert (window.request_count, window.error_count) == (10, 3)
    assert window.p50_ms == pytest.approx(4.0, rel=0.05)
    shadow_stats = source.shadow_stats("d2")
    assert (shadow_stats.compared, shadow_stats.agreed) == (10, 9)
    assert shadow_stats.primary_latency == {bucket_of(4.0): 1}  # gw-a replaced its rows
    assert shadow_stats.shadow_latency == {bucket_of(5.0): 1}
    assert source.metrics("unknown").request_count == 0


def test_traffic_stats_windows_count_the_gateways_the_monitor_counts(
    factory: sessionmaker[Session],
) -> None:
    """A gateway that stopped reporting keeps its totals, but its old window is not "now": the
    ``traffic stats`` report and the monitor's metrics source leave it out alike."""
    router = DbRouter(factory)
    for gateway_id, requests in (("gw-fresh", 4), ("gw-stale", 6)):
        stats = DeploymentStats("d1", "iris")
        for _ in range(requests):
            stats.record(4.0, error=False)
        shadow = ShadowComparison("d2", "iris")
        shadow.record(4.0, 5.0, compared=requests, agreed=requests - 1)
        router.store_stats(gateway_id, [stats.snapshot()], [shadow.snapshot()])
    source = DbMetricsSource(factory, fresh_seconds=10.0)
    with factory() as session:
        session.execute(
            update(GatewayStatsRow)
            .where(GatewayStatsRow.gateway_id == "gw-stale")
            .values(updated_at=utcnow() - timedelta(seconds=60))
        )
        session.commit()
    report = traffic_stats(cast(Services, SimpleNamespace(session_factory=factory, metrics=source)))
    (deployment,) = report["deployments"]
    assert deployment["requests"] == source.metrics("d1").request_count == 4
    assert deployment["total_requests"] == source.counts("d1").requests == 10
    (shadow_row,) = report["shadows"]
    assert (shadow_row["compared"], shadow_row["agreed"]) == (10, 8)
    stored = source.shadow_stats("d2")
    assert stored == ShadowStats(10, 8, 0, stored.primary_latency, stored.shadow_latency)
    assert stored.requests == 2, "each gateway timed its one mirrored request on both sides"


def test_a_changed_only_flush_rewrites_given_rows_marks_unchanged_and_keeps_retired_ones(
    factory: sessionmaker[Session],
) -> None:
    """Issue 16: a flush writes only what changed. The unchanged rows keep their figures with
    a fresh ``updated_at`` (the monitor's freshness), the rows of a deployment it no longer
    reports (retired) stay as they were, neither rewritten nor marked (a retired shadow's
    comparisons are evidence when its version is promoted again), and another gateway's rows
    are left alone."""
    router = DbRouter(factory)
    figures = {d: DeploymentStats(d, "iris") for d in ("kept", "changed", "retired")}
    shadow = ShadowComparison("kept", "iris")
    shadow.record(1.0, 2.0, compared=2, agreed=2)
    router.store_stats("gw-a", [f.snapshot() for f in figures.values()], [shadow.snapshot()])
    router.store_stats("gw-b", [figures["retired"].snapshot()], [])
    old = utcnow() - timedelta(seconds=60)
    with factory() as session:
        session.execute(update(GatewayStatsRow).values(updated_at=old))
        session.commit()
    figures["changed"].record(4.0, error=True)
    router.store_stats(
        "gw-a",
        [figures["changed"].snapshot()],
        [],
        unchanged=[("deployment", "kept"), ("shadow", "kept")],
    )
    with factory() as session:
        rows = {
            (r.gateway_id, r.kind, r.deployment_id): r
            for r in session.scalars(select(GatewayStatsRow))
        }
    assert sorted(rows) == [
        ("gw-a", "deployment", "changed"),
        ("gw-a", "deployment", "kept"),
        ("gw-a", "deployment", "retired"),
        ("gw-a", "shadow", "kept"),
        ("gw-b", "deployment", "retired"),
    ]
    assert rows["gw-a", "deployment", "changed"].figures["total"]["errors"] == 1
    assert rows["gw-a", "shadow", "kept"].figures["compared"] == 2
    assert all(
        r.updated_at > old
        for (gw, _, d), r in rows.items()
        if (gw, d) != ("gw-a", "retired") and gw == "gw-a"
    )
    assert rows["gw-a", "deployment", "retired"].updated_at == old, "not marked as reported"
    assert rows["gw-b", "deployment", "retired"].updated_at == old
    assert DbMetricsSource(factory).reported_at("kept") > old
