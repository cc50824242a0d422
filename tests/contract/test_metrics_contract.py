"""The metrics-source port (``lifecycle.ports.MetricsSource``): ``FakeMetrics`` and
``DbMetricsSource`` (on a real SQLite file and a real PostgreSQL) pass the same tests.

The real side is fed as a gateway feeds it: one gateway's ``DeploymentStats`` and
``ShadowComparison`` record each request and flush their cumulative snapshots through
``DbRouter.store_stats``; the fake is fed with ``count`` and ``compare``.

Drift found: the fake's ``metrics()`` ignored counted requests (only figures a test set by hand
showed), while the real window shows every request a gateway measured. The fake now derives its
window from its counters unless a test sets the figures outright.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pytest

from database.routing import DbMetricsSource, DbRouter
from lifecycle.latency import RequestCounts
from lifecycle.metrics import PerformanceMetrics, ShadowStats
from lifecycle.ports import MetricsSource
from mlops.gateway.stats import DeploymentStats, ShadowComparison
from tests.agent_fakes import FakeMetrics
from tests.integration.db_helpers import migrated_factory

MODEL = "iris"


class Traffic(Protocol):
    """How a test makes requests happen, whichever side is under test."""

    def count(
        self, deployment_id: str, requests: int, errors: int = 0, ms: float = 5.0
    ) -> None: ...

    def compare(
        self, shadow_id: str, compared: int, agreed: int, shadow_errors: int = 0
    ) -> None: ...


@dataclass
class Gateway:
    """One gateway replica that measures requests and flushes its figures to the state DB."""

    router: DbRouter
    deployments: dict[str, DeploymentStats] = field(default_factory=dict)
    shadows: dict[str, ShadowComparison] = field(default_factory=dict)

    def count(self, deployment_id: str, requests: int, errors: int = 0, ms: float = 5.0) -> None:
        stats = self.deployments.setdefault(deployment_id, DeploymentStats(deployment_id, MODEL))
        for i in range(requests):
            stats.record(ms, error=i < errors)
        self.flush()

    def compare(self, shadow_id: str, compared: int, agreed: int, shadow_errors: int = 0) -> None:
        shadow = self.shadows.setdefault(shadow_id, ShadowComparison(shadow_id, MODEL))
        shadow.record(4.0, 5.0, compared=compared, agreed=agreed)
        for _ in range(shadow_errors):
            shadow.record_failure(4.0, 5.0)
        self.flush()

    def flush(self) -> None:
        self.router.store_stats(
            "gw-a",
            [s.snapshot() for s in self.deployments.values()],
            [s.snapshot() for s in self.shadows.values()],
        )


@dataclass
class Side:
    source: MetricsSource
    traffic: Traffic


@pytest.fixture(
    params=["fake", "db-sqlite", pytest.param("db-postgres", marks=pytest.mark.postgres)]
)
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    if request.param == "fake":
        fake = FakeMetrics()
        yield Side(fake, fake)
        return
    url = str(
        request.getfixturevalue("postgres_url" if "postgres" in request.param else "sqlite_url")
    )
    factory = migrated_factory(url)
    yield Side(DbMetricsSource(factory), Gateway(DbRouter(factory)))
    factory.kw["bind"].dispose()


def test_a_deployment_nobody_measured_has_empty_figures_not_an_error(side: Side) -> None:
    assert side.source.metrics("unknown") == PerformanceMetrics()
    assert side.source.counts("unknown") == RequestCounts()
    assert side.source.shadow_stats("unknown") == ShadowStats()
    assert side.source.shadow_stats("unknown").agreement is None


def test_measured_requests_show_in_the_counters_and_the_window(side: Side) -> None:
    side.traffic.count("d1", 10, errors=2, ms=4.0)
    counts = side.source.counts("d1")
    assert (counts.requests, counts.errors) == (10, 2)
    window = side.source.metrics("d1")
    assert (window.request_count, window.error_count, window.error_rate) == (10, 2, 0.2)
    assert window.p50_ms == pytest.approx(4.0, rel=0.05)
    assert window.p99_ms == pytest.approx(4.0, rel=0.05)


def test_counters_only_grow_and_a_period_is_their_difference(side: Side) -> None:
    side.traffic.count("d1", 10, errors=1, ms=4.0)
    before = side.source.counts("d1")
    side.traffic.count("d1", 30, errors=3, ms=40.0)
    after = side.source.counts("d1")
    assert after.requests >= before.requests and after.errors >= before.errors
    step = after.since(before)
    assert (step.requests, step.errors) == (30, 3)
    assert step.metrics().p50_ms == pytest.approx(40.0, rel=0.05)


def test_each_deployment_has_its_own_figures(side: Side) -> None:
    side.traffic.count("d1", 10, errors=5)
    side.traffic.count("d2", 4)
    assert (side.source.counts("d2").requests, side.source.counts("d2").errors) == (4, 0)
    assert side.source.metrics("d2").error_count == 0
    assert side.source.counts("d1").requests == 10


def test_shadow_comparisons_add_up(side: Side) -> None:
    side.traffic.compare("s1", compared=10, agreed=9)
    side.traffic.compare("s1", compared=5, agreed=5, shadow_errors=1)
    stats = side.source.shadow_stats("s1")
    assert (stats.compared, stats.agreed, stats.shadow_errors) == (15, 14, 1)
    assert stats.agreement == pytest.approx(14 / 15)
    assert side.source.counts("s1") == RequestCounts()


def test_a_report_is_dated_when_it_is_stored_and_a_later_one_moves_forward(side: Side) -> None:
    before = datetime.now(UTC)
    side.traffic.count("d1", 3)
    first = side.source.reported_at("d1")
    assert first is not None and before <= first <= datetime.now(UTC)
    side.traffic.count("d1", 1)
    later = side.source.reported_at("d1")
    assert later is not None and later >= first


def test_a_snapshot_of_many_deployments_answers_what_each_read_alone_does(side: Side) -> None:
    side.traffic.count("d1", 10, errors=2, ms=4.0)
    side.traffic.count("d2", 4, ms=40.0)
    side.traffic.compare("s1", compared=10, agreed=9, shadow_errors=1)
    ids = ["d1", "d2", "s1", "unknown"]
    before = {d: side.source.reported_at(d) for d in ids}
    snapshot = side.source.snapshot(ids)
    for deployment_id in ids:
        assert snapshot.counts(deployment_id) == side.source.counts(deployment_id)
        assert snapshot.metrics(deployment_id) == side.source.metrics(deployment_id)
        assert snapshot.shadow_stats(deployment_id) == side.source.shadow_stats(deployment_id)
        # the store's report times (the fake's "now" moves: it lies between two reads)
        stored, after = snapshot.reported_at(deployment_id), side.source.reported_at(deployment_id)
        assert (stored is None) == (after is None) == (before[deployment_id] is None)
        if stored is not None:
            assert before[deployment_id] <= stored <= after  # type: ignore[operator]
    assert snapshot.counts("d1").requests == 10 and snapshot.shadow_stats("s1").compared == 10


def test_a_snapshot_refuses_to_answer_for_a_deployment_it_did_not_read() -> None:
    """Nothing is judged on figures never read: the real snapshot names what it lacks."""
    from database.metrics_snapshot import MetricsSnapshot

    snapshot = MetricsSnapshot([], ["d1"], lambda rows: list(rows))
    assert snapshot.counts("d1") == RequestCounts()
    with pytest.raises(KeyError, match="d2"):
        snapshot.counts("d2")
