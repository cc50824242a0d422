"""Gateway figures: histograms, the sliding window, output comparison."""

from __future__ import annotations

import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.latency import bucket_of, merge, merged_metrics, quantile, sparse
from mlops.gateway.stats import (
    DeploymentStats,
    ShadowComparison,
    metrics_from,
    outputs_agree,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_histogram_quantiles_are_within_five_percent(q: float) -> None:
    rng = random.Random(3)
    samples = [rng.lognormvariate(1.5, 0.6) for _ in range(20_000)]
    counts = [0] * 200
    for ms in samples:
        counts[bucket_of(ms)] += 1
    exact = statistics.quantiles(samples, n=1000)[int(q * 1000) - 1]
    assert quantile(counts, q) == pytest.approx(exact, rel=0.05)


def test_an_empty_histogram_has_no_quantiles() -> None:
    assert quantile([0] * 200, 0.5) is None


def test_histograms_of_replicas_merge_by_adding_counts() -> None:
    a, b = [0] * 200, [0] * 200
    a[10], b[10], b[20] = 3, 2, 5
    assert merge([sparse(a), sparse(b)]) == {10: 5, 20: 5}


def test_the_window_forgets_old_requests_and_totals_do_not() -> None:
    clock = FakeClock()
    stats = DeploymentStats("d1", "iris", window_seconds=10, clock=clock)
    for _ in range(50):
        stats.record(5.0, error=False)
    stats.record(5.0, error=True)
    clock.now += 5
    for _ in range(10):
        stats.record(50.0, error=False)
    window = metrics_from(stats.snapshot())
    assert (window.request_count, window.error_count) == (61, 1)
    clock.now += 6  # the first second has left the 10 s window
    window = metrics_from(stats.snapshot())
    assert (window.request_count, window.error_count) == (10, 0)
    assert window.p50_ms == pytest.approx(50, rel=0.05)
    total = metrics_from(stats.snapshot(), window=False)
    assert (total.request_count, total.error_count) == (61, 1)


def test_an_idle_deployment_reports_no_latency_rather_than_zero() -> None:
    stats = DeploymentStats("d1", "iris")
    assert metrics_from(stats.snapshot()).p95_ms is None


def test_merged_metrics_add_requests_and_errors_of_replicas() -> None:
    one, two = DeploymentStats("d1", "iris"), DeploymentStats("d1", "iris")
    for _ in range(30):
        one.record(2.0, error=False)
    for _ in range(10):
        two.record(8.0, error=True)
    merged = merged_metrics([one.snapshot(), two.snapshot()])
    assert (merged.request_count, merged.error_count) == (40, 10)
    assert merged.p50_ms == pytest.approx(2.0, rel=0.05)
    assert merged.p99_ms == pytest.approx(8.0, rel=0.05)


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        pytest.param(1, 1, True, id="equal-labels-agree"),
        pytest.param("cat", "dog", False, id="different-labels-disagree"),
        pytest.param(0.5, 0.5 + 1e-9, True, id="numbers-within-tolerance-agree"),
        pytest.param(0.5, 0.51, False, id="numbers-beyond-tolerance-disagree"),
        pytest.param([0.1, 0.9], [0.1, 0.9], True, id="probability-rows-compare-elementwise"),
        pytest.param([1, 2], [1], False, id="different-lengths-disagree"),
        pytest.param({"p": 1}, {"p": 1}, True, id="dicts-compare-by-key"),
        pytest.param(True, 1, False, id="a-bool-is-not-a-number"),
    ],
)
def test_outputs_agree(a: object, b: object, agree: bool) -> None:
    assert outputs_agree(a, b) is agree


def test_a_comparison_keeps_a_bounded_sample_of_disagreements() -> None:
    comparison = ShadowComparison("s", "iris", sample_size=3)
    for i in range(10):
        comparison.record(1.0, 2.0, compared=2, agreed=1, sample={"i": i})
    comparison.record_failure(1.0, 9.0)
    snapshot = comparison.snapshot()
    assert (snapshot["compared"], snapshot["agreed"], snapshot["shadow_errors"]) == (20, 10, 1)
    assert snapshot["agreement"] == 0.5
    assert [s["i"] for s in snapshot["disagreements"]] == [0, 1, 2]


@settings(max_examples=200, deadline=None)
@given(
    window=st.integers(min_value=1, max_value=8),
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=12, allow_nan=False),  # seconds to wait first
            st.floats(min_value=0.01, max_value=5000, allow_nan=False),  # latency ms
            st.booleans(),  # an error
        ),
        max_size=60,
    ),
    read_every=st.integers(min_value=1, max_value=5),
)
def test_the_windows_running_sums_equal_a_recount_of_its_requests(
    window: int, steps: list[tuple[float, float, bool]], read_every: int
) -> None:
    """Whatever the waits, records and reads: add on record, subtract on expiry = recount."""
    clock = FakeClock()
    stats = DeploymentStats("d1", "iris", window_seconds=window, clock=clock)
    seen: list[tuple[int, float, bool]] = []
    for i, (wait, ms, error) in enumerate(steps):
        clock.now += wait
        stats.record(ms, error)
        seen.append((int(clock.now), ms, error))
        if i % read_every == 0:
            clock.now += wait / 2
            now = int(clock.now)
            inside = [(ms, e) for second, ms, e in seen if second > now - window]
            latency = [0] * 200
            for ms_, _ in inside:
                latency[bucket_of(ms_)] += 1
            requests, errors, histogram, _ = stats.window()
            assert (requests, errors) == (len(inside), sum(e for _, e in inside))
            assert histogram == latency
            assert stats.window_requests() == len(inside)
    assert (stats.requests, stats.errors) == (len(seen), sum(e for _, _, e in seen))
    assert sum(stats.prometheus_buckets) == len(seen)


def test_an_idle_deployments_snapshot_is_kept_until_its_next_request_and_stays_true() -> None:
    """A table of 1,000 models is mostly idle deployments flushed every couple of seconds
    (issue 17 item 6): once a whole window passed without a request the snapshot cannot change,
    so it is not computed again; a request, or a retry counted on it, makes a new one."""
    clock = FakeClock()
    stats = DeploymentStats("d1", "m", window_seconds=10, clock=clock)
    stats.record(5.0, error=False)
    clock.now += 5
    busy = stats.snapshot()
    clock.now += 1
    assert stats.snapshot() is not busy  # a window with requests moves with time
    clock.now += 20
    idle = stats.snapshot()
    assert idle["window"]["requests"] == 0 and idle["window_seconds"] == 10
    clock.now += 100
    assert stats.snapshot() is idle
    stats._idle = None  # computed afresh now, it is what was kept
    assert stats.snapshot() == idle
    stats.retried += 1
    assert stats.snapshot()["total"]["retried_on_stable"] == 1
    stats.record(7.0, error=True)
    after = stats.snapshot()
    assert (after["window"]["requests"], after["total"]["errors"]) == (1, 1)
