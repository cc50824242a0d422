"""Service levels, pure: a missed objective fails, too few requests is inconclusive (never ok),
relative latency needs a baseline, and a breach acts only inside the guard window with a warm
deployment to go back to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.gates import VerdictStatus
from lifecycle.metrics import PerformanceMetrics
from lifecycle.slo import (
    GuardAction,
    InvalidObjectiveError,
    Objectives,
    SloVerdict,
    guard_action,
    is_new_breach,
    judge,
    objectives,
)

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
GOALS = Objectives(error_rate=0.01, p95_ms=50.0, p99_ms=120.0, latency_factor=2.0, min_requests=20)
CALM = PerformanceMetrics(request_count=100, error_count=0, p95_ms=20.0, p99_ms=40.0)


def window(
    requests: int = 100, errors: int = 0, p95: float | None = 20.0, p99: float | None = 40.0
):
    return PerformanceMetrics(request_count=requests, error_count=errors, p95_ms=p95, p99_ms=p99)


JUDGE = {
    "a calm window passes": (GOALS, window(), CALM, "passed", ()),
    "errors above the rate fail": (GOALS, window(errors=5), CALM, "failed", ("error_rate",)),
    "errors at the rate pass": (GOALS, window(errors=1), CALM, "passed", ()),
    "p95 above its bound fails": (GOALS, window(p95=60.0, p99=70.0), None, "failed", ("p95_ms",)),
    "p99 above its bound fails": (
        GOALS,
        window(p99=130.0),
        window(p99=100.0),
        "failed",
        ("p99_ms",),
    ),
    "too few requests is inconclusive, even when failing": (
        GOALS,
        window(requests=19, errors=19),
        CALM,
        "inconclusive",
        (),
    ),
    "no baseline leaves relative latency inconclusive": (GOALS, window(), None, "inconclusive", ()),
    "a thin baseline is no baseline": (
        GOALS,
        window(),
        PerformanceMetrics(request_count=3, p95_ms=1.0, p99_ms=1.0),
        "inconclusive",
        (),
    ),
    "p95 over k times its own baseline fails": (
        GOALS,
        window(p95=45.0, p99=60.0),
        window(p95=10.0, p99=40.0),
        "failed",
        ("p95_ms_relative",),
    ),
    "relative objectives off need no baseline": (
        Objectives(error_rate=0.01, latency_factor=None),
        window(),
        None,
        "passed",
        (),
    ),
    "unknown latency is inconclusive": (
        Objectives(p95_ms=50.0, latency_factor=None),
        window(p95=None),
        None,
        "inconclusive",
        (),
    ),
    "no objective at all passes on enough requests": (
        Objectives(error_rate=None, latency_factor=None),
        window(),
        None,
        "passed",
        (),
    ),
}


@pytest.mark.parametrize(("goals", "win", "base", "status", "breached"), JUDGE.values(), ids=JUDGE)
def test_judge_reads_a_window_against_the_objectives(goals, win, base, status, breached) -> None:
    verdict = judge(goals, win, base)
    assert verdict.status.value == status
    assert tuple(b.objective for b in verdict.breaches) == breached
    assert verdict.summary


def test_a_breach_names_what_it_observed_and_its_limit() -> None:
    verdict = judge(GOALS, window(errors=10), CALM)
    assert verdict.breaches[0].observed == pytest.approx(0.1)
    assert verdict.breaches[0].limit == 0.01
    assert verdict.reasons[0] == "error rate 10.00% above 1.00%"


FAILED = judge(GOALS, window(errors=10), CALM)
PASSED = judge(GOALS, window(), CALM)
THIN = judge(GOALS, window(requests=2), CALM)
DONE = NOW - timedelta(minutes=10)

GUARD = {
    "a breach inside the window with a warm previous acts": (FAILED, DONE, 3600, True, True, "act"),
    "a breach after the window proposes": (
        FAILED,
        NOW - timedelta(hours=2),
        3600,
        True,
        True,
        "propose",
    ),
    "a breach inside the window with nothing warm proposes": (
        FAILED,
        DONE,
        3600,
        False,
        True,
        "propose",
    ),
    "a breach with no release time proposes": (FAILED, None, 3600, True, True, "propose"),
    "a breach with nothing to roll back to alerts": (FAILED, DONE, 3600, False, False, "alert"),
    "a pass does nothing": (PASSED, DONE, 3600, True, True, "none"),
    "inconclusive does nothing": (THIN, DONE, 3600, True, True, "none"),
    "the window's end is outside it": (
        FAILED,
        NOW - timedelta(seconds=60),
        60,
        True,
        True,
        "propose",
    ),
}


@pytest.mark.parametrize(
    ("verdict", "done", "guard", "warm", "can", "action"), GUARD.values(), ids=GUARD
)
def test_guard_action_acts_only_inside_the_window_with_a_warm_previous(
    verdict: SloVerdict, done, guard, warm, can, action
) -> None:
    assert guard_action(verdict, done, NOW, guard, warm, can_roll_back=can) is GuardAction(action)


NEW = {
    "the first failure is new": (FAILED, None, True),
    "after a pass a failure is new": (FAILED, "passed", True),
    "after inconclusive a failure is new": (FAILED, "inconclusive", True),
    "an ongoing failure is not new": (FAILED, "failed", False),
    "a pass is no breach": (PASSED, None, False),
}


@pytest.mark.parametrize(("verdict", "previous", "new"), NEW.values(), ids=NEW)
def test_a_breach_is_said_once_while_it_lasts(verdict, previous, new) -> None:
    assert is_new_breach(verdict, previous) is new


BAD = {
    "a rate above 1": {"error_rate": 1.5},
    "a negative rate": {"error_rate": -0.1},
    "a zero latency": {"p95_ms": 0},
    "a negative latency": {"p99_ms": -5},
    "an infinite latency": {"p95_ms": float("inf")},
    "a NaN rate": {"error_rate": float("nan")},
    "a factor below 1": {"latency_factor": 0.5},
    "a fractional minimum": {"min_requests": 2.5},
    "no minimum": {"min_requests": None},
    "an unknown objective": {"p50_ms": 10},
    "a boolean": {"p95_ms": True},
}


@pytest.mark.parametrize("changes", BAD.values(), ids=BAD)
def test_bad_objectives_are_refused_with_one_line(changes) -> None:
    with pytest.raises(InvalidObjectiveError) as caught:
        objectives(GOALS, changes)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_good_changes_override_the_defaults_and_none_clears_a_bound() -> None:
    got = objectives(GOALS, {"p95_ms": 40, "p99_ms": None, "min_requests": 50.0})
    assert (got.p95_ms, got.p99_ms, got.min_requests, got.error_rate) == (40, None, 50, 0.01)
    assert type(got.min_requests) is int
    assert got.to_json()["p95_ms"] == 40
    assert judge(got, window(), CALM).status is VerdictStatus.PASSED


EDGES = {
    "a baseline of exactly the minimum is compared": (
        window(p95=45.0, p99=60.0),
        window(requests=20, p95=10.0, p99=40.0),
        "failed",
    ),
    "exactly k times the baseline is within it": (
        window(p95=20.0, p99=80.0),
        window(p95=10.0, p99=40.0),
        "passed",
    ),
}


@pytest.mark.parametrize(("win", "base", "status"), EDGES.values(), ids=EDGES)
def test_relative_latency_at_its_bounds(win, base, status) -> None:
    assert judge(GOALS, win, base).status.value == status


@pytest.mark.parametrize(
    "changes",
    [
        {"latency_factor": 1.0},
        {"latency_factor": 1.5},
        {"min_requests": 1},
        {"error_rate": 1.0},
        {"error_rate": 0.0},
    ],
    ids=["a factor of 1", "a factor of 1.5", "a minimum of 1", "a rate of 1", "a rate of 0"],
)
def test_objectives_at_their_bounds_are_accepted(changes) -> None:
    assert objectives(GOALS, changes).to_json().items() >= changes.items()


def test_a_breach_with_nothing_warm_proposes_unless_told_nothing_is_left() -> None:
    assert guard_action(FAILED, DONE, NOW, 3600, False) is GuardAction.PROPOSE


def test_a_verdict_says_each_objective_in_a_sentence() -> None:
    verdict = judge(GOALS, window(errors=2, p95=60.0, p99=100.0), window(p95=10.0, p99=40.0))

    assert [(v.gate, v.status.value, v.message) for v in verdict.verdicts] == [
        ("slo_error_rate", "failed", "error rate 2.00% above 1.00%"),
        ("slo_p95_ms", "failed", "p95 60 ms above 50 ms"),
        ("slo_p99_ms", "passed", "p99 100 ms within 120 ms"),
        ("slo_p95_ms_relative", "failed", "p95 60 ms vs 2x its baseline 10 ms"),
        ("slo_p99_ms_relative", "failed", "p99 100 ms vs 2x its baseline 40 ms"),
    ]
    thin = judge(GOALS, window(requests=3), None)
    assert [(v.gate, v.message) for v in thin.verdicts] == [
        ("slo_requests", "only 3 requests (SLO needs 20)")
    ]


def test_a_minimum_left_off_and_a_sub_millisecond_bound() -> None:
    with pytest.raises(
        InvalidObjectiveError, match=r"^the minimum request count cannot be left off$"
    ):
        objectives(GOALS, {"min_requests": None})
    assert objectives(GOALS, {"p95_ms": 0.5}).p95_ms == 0.5


def test_a_window_of_exactly_the_minimum_is_judged() -> None:
    assert judge(GOALS, window(requests=20), CALM).status is VerdictStatus.PASSED
