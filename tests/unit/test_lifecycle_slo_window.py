"""The SLO window and baseline from counter samples, pure: the window is what happened in its
last seconds, the baseline the period before it, and samples are thinned as they are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.latency import RequestCounts
from lifecycle.slo_window import MAX_SAMPLES, Sample, kept, periods

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def at(ago: float, requests: int, errors: int = 0) -> Sample:
    return Sample(NOW - timedelta(seconds=ago), RequestCounts(requests, errors, {10: requests}))


SAMPLES = [at(400, 100), at(300, 200, 1), at(120, 300, 2), at(60, 400, 5)]
NOW_COUNTS = RequestCounts(500, 25, {10: 500})

PERIODS = {
    "the window starts at the newest sample old enough": (SAMPLES, 100, 60, (200, 23), (100, 1)),
    "a window older than every sample has no baseline": (SAMPLES, 1000, 60, (500, 25), None),
    "a baseline reaching before every sample counts from zero": (
        SAMPLES,
        100,
        1000,
        (200, 23),
        (300, 2),
    ),
    "no samples: everything counted so far, no baseline": ([], 60, 60, (500, 25), None),
}


@pytest.mark.parametrize(
    ("samples", "window", "base", "win", "baseline"), PERIODS.values(), ids=PERIODS
)
def test_periods_are_differences_of_samples(samples, window, base, win, baseline) -> None:
    got = periods(samples, NOW_COUNTS, NOW, window, base)
    assert (got.window.requests, got.window.errors) == win
    assert (None if got.baseline is None else (got.baseline.requests, got.baseline.errors)) == (
        baseline
    )


def test_a_sample_is_kept_only_a_tenth_of_the_window_after_the_last() -> None:
    first = kept([], at(10, 1), 100, 100)
    assert len(kept(first, at(5, 2), 100, 100)) == 1
    assert len(kept(first, at(0, 2), 100, 100)) == 2


def test_samples_older_than_window_and_baseline_go_but_the_newest_of_them_stays() -> None:
    got = kept(SAMPLES, at(0, 600), 60, 100)
    assert [s.counts.requests for s in got] == [200, 300, 400, 600]


def test_samples_are_bounded_and_round_trip_through_json() -> None:
    many = [at(10_000 - i, i) for i in range(MAX_SAMPLES + 50)]
    assert len(kept(many, at(0, 10**6), 1, 10**6)) == MAX_SAMPLES
    assert Sample.from_json(SAMPLES[1].to_json()) == SAMPLES[1]


def test_a_sample_exactly_a_window_old_starts_the_window() -> None:
    got = periods([at(60, 100), at(30, 300)], NOW_COUNTS, NOW, 60, 60)
    assert got.window.requests == 400


def test_a_sample_just_short_of_a_tenth_of_the_window_is_not_kept() -> None:
    first = kept([], at(10, 1), 100, 100)
    assert len(kept(first, at(0.5, 2), 100, 100)) == 1


def test_the_sample_at_the_cutoff_and_the_newest_before_it_are_kept() -> None:
    samples = [at(300, 1), at(250, 2), at(210, 3), at(200, 4), at(100, 5)]
    got = kept(samples, at(0, 6), 100, 100)  # cutoff: 200 s ago
    assert [s.counts.requests for s in got] == [3, 4, 5, 6]
