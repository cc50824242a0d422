"""Latency histograms and request counters pinned exactly: bucket bounds, quantile ranks, how
replicas' figures add up and how a step's figures are a difference of two readings."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.latency import (
    BUCKETS,
    RequestCounts,
    bucket_of,
    bucket_value,
    merge,
    merged_metrics,
    quantile,
    sparse,
    summed_counts,
)
from lifecycle.metrics import PerformanceMetrics

BUCKET_OF = {
    "nothing is the lowest bucket": (0.0, 0),
    "the lowest latency is the lowest bucket": (0.05, 0),
    "just above the lowest latency is the next bucket": (0.0500001, 1),
    "half a step up is still the first bucket above": (0.052, 1),
    "a fifth above the lowest is two and a third steps up": (0.06, 3),
    "ten ms": (10.0, 69),
    "an absurd latency is the last bucket": (1e12, BUCKETS - 1),
}


@pytest.mark.parametrize(("ms", "bucket"), BUCKET_OF.values(), ids=BUCKET_OF.keys())
def test_the_bucket_of_a_latency(ms: float, bucket: int) -> None:
    assert bucket_of(ms) == bucket


def test_a_bucket_stands_for_the_geometric_middle_of_its_bounds() -> None:
    assert bucket_value(0) == 0.05
    assert bucket_value(1) == pytest.approx(0.05 * math.sqrt(1.08), rel=1e-12)
    assert bucket_value(3) == pytest.approx(0.05 * 1.08**2.5, rel=1e-12)


@given(st.floats(min_value=0.06, max_value=200_000.0))
def test_a_latency_is_read_back_within_four_percent(ms: float) -> None:
    assert bucket_value(bucket_of(ms)) == pytest.approx(ms, rel=0.04)


QUANTILES = {
    "the median of two is the lower": ({1: 1, 3: 1}, 0.5, 0.052),
    "just above the median is the upper": ({1: 1, 3: 1}, 0.51, 0.061),
    "the 0 quantile is the lowest seen": ({1: 1, 3: 1}, 0.0, 0.052),
    "the 1 quantile is the highest seen": ({1: 1, 3: 1}, 1.0, 0.061),
    "buckets are read in order, not as given": ({3: 1, 1: 1}, 0.5, 0.052),
    "a list is a histogram by position": ([1, 0, 0, 1], 0.5, 0.05),
    "a list's upper half": ([1, 0, 0, 1], 0.75, 0.061),
    "empty buckets are skipped": ({1: 0, 10: 2}, 0.0, 0.104),
    "a quantile above 1 is the highest bucket": ({1: 1, 3: 1, 10: 1}, 2.0, 0.104),
}


@pytest.mark.parametrize(("counts", "q", "ms"), QUANTILES.values(), ids=QUANTILES.keys())
def test_a_quantile_is_the_bucket_where_its_rank_is_reached(
    counts: dict[int, int] | list[int], q: float, ms: float
) -> None:
    assert quantile(counts, q) == ms


def test_an_empty_histogram_has_no_quantile_whatever_its_shape() -> None:
    assert quantile({}, 0.5) is None
    assert quantile({4: 0}, 0.5) is None
    assert quantile([0, 0], 0.5) is None


def test_sparse_and_merge_keep_only_what_was_counted() -> None:
    assert sparse([0, 2, 0, 1]) == {"1": 2, "3": 1}
    assert merge([{"1": 2}, {"1": "3", "4": 1}, {}]) == {1: 5, 4: 1}
    assert merge([]) == {}


# 100 requests: 50 in bucket 10, 45 in 20, 4 in 30 and 1 in 40: p50, p95 and p99 all differ.
SPREAD = {"10": 50, "20": 45, "30": 4, "40": 1}


def test_replicas_window_figures_add_up_and_their_quantiles_are_read_together() -> None:
    snapshots = [
        {
            "window": {
                "requests": 60,
                "errors": 2,
                "requests_per_second": 1.2345,
                "latency_histogram": {"10": 50, "20": 10},
            }
        },
        {
            "window": {
                "requests": "40",
                "errors": "1",
                "requests_per_second": "2.0001",
                "latency_histogram": {"20": 35, "30": 4, "40": 1},
            }
        },
        {"window": {"requests": 0, "errors": 0}},
    ]
    assert merged_metrics(snapshots) == PerformanceMetrics(
        request_count=100,
        error_count=3,
        p50_ms=0.104,
        p95_ms=0.224,
        p99_ms=0.484,
        requests_per_second=3.235,
    )


def test_no_snapshot_is_no_traffic_and_no_latency() -> None:
    assert merged_metrics([]) == PerformanceMetrics()


def test_counts_report_their_quantiles_as_figures() -> None:
    counts = RequestCounts(100, 3, {int(k): n for k, n in SPREAD.items()})
    assert counts.metrics() == PerformanceMetrics(
        request_count=100, error_count=3, p50_ms=0.104, p95_ms=0.224, p99_ms=0.484
    )
    assert RequestCounts().metrics() == PerformanceMetrics()


SINCE = {
    "nothing read before is everything": (
        RequestCounts(5, 1, {2: 5}),
        None,
        RequestCounts(5, 1, {2: 5}),
    ),
    "the same reading twice is nothing": (
        RequestCounts(5, 1, {2: 5}),
        RequestCounts(5, 1, {2: 5}),
        RequestCounts(0, 0, {}),
    ),
    "buckets that did not grow are dropped, new ones kept": (
        RequestCounts(12, 3, {1: 5, 2: 4, 3: 1}),
        RequestCounts(8, 1, {1: 5, 2: 1, 4: 2}),
        RequestCounts(4, 2, {2: 3, 3: 1}),
    ),
    "fewer requests than before counts from zero again": (
        RequestCounts(3, 1, {1: 3}),
        RequestCounts(4, 0, {1: 4}),
        RequestCounts(3, 1, {1: 3}),
    ),
    "fewer errors than before counts from zero again": (
        RequestCounts(9, 1, {1: 9}),
        RequestCounts(4, 2, {1: 4}),
        RequestCounts(9, 1, {1: 9}),
    ),
}


@pytest.mark.parametrize(("later", "earlier", "step"), SINCE.values(), ids=SINCE.keys())
def test_a_steps_counts_are_the_difference_of_two_readings(
    later: RequestCounts, earlier: RequestCounts | None, step: RequestCounts
) -> None:
    assert later.since(earlier) == step


counts = st.builds(
    RequestCounts,
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.dictionaries(st.integers(0, BUCKETS - 1), st.integers(1, 10**6), max_size=8),
)


@given(counts)
def test_counts_survive_a_round_trip_through_json(value: RequestCounts) -> None:
    assert RequestCounts.from_json(value.to_json()) == value


@given(counts, counts)
def test_a_step_added_to_the_earlier_reading_gives_the_later_one(
    earlier: RequestCounts, step: RequestCounts
) -> None:
    histogram = dict(earlier.histogram)
    for bucket, n in step.histogram.items():
        histogram[bucket] = histogram.get(bucket, 0) + n
    later = RequestCounts(earlier.requests + step.requests, earlier.errors + step.errors, histogram)
    assert later.since(earlier) == step


def test_json_lists_histogram_buckets_in_order_as_strings() -> None:
    assert RequestCounts(3, 1, {10: 1, 2: 2}).to_json() == {
        "requests": 3,
        "errors": 1,
        "histogram": {"2": 2, "10": 1},
    }
    assert list(RequestCounts(3, 1, {10: 1, 2: 2}).to_json()["histogram"]) == ["2", "10"]


FROM_JSON = {
    "none is nothing counted": (None, RequestCounts()),
    "empty is nothing counted": ({}, RequestCounts()),
    "missing fields are zero": ({"errors": 2}, RequestCounts(0, 2, {})),
    "missing requests only": (
        {"requests": "7", "histogram": {"3": "4"}},
        RequestCounts(7, 0, {3: 4}),
    ),
}


@pytest.mark.parametrize(("data", "value"), FROM_JSON.values(), ids=FROM_JSON.keys())
def test_counts_are_read_from_json_forgivingly(
    data: dict[str, object] | None, value: RequestCounts
) -> None:
    assert RequestCounts.from_json(data) == value


def test_replicas_totals_add_up_and_missing_fields_count_as_nothing() -> None:
    totals = [
        {"requests": 10, "errors": 1, "latency_histogram": {"3": 10}},
        {"requests": "5", "errors": "2", "latency_histogram": {"3": 2, "7": 3}},
        {},
    ]
    assert summed_counts(totals) == RequestCounts(15, 3, {3: 12, 7: 3})
    assert summed_counts([]) == RequestCounts()
    assert summed_counts([{"errors": 1}]) == RequestCounts(0, 1, {})
    assert summed_counts([{"requests": 1}]) == RequestCounts(1, 0, {})
