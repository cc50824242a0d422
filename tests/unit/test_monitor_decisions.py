"""The monitor's decisions, pure: failures roll back at once, inconclusive never moves anything
on, a step waits out its pause, and a step's figures are the counters' difference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.gates import Verdict, VerdictStatus
from lifecycle.latency import RequestCounts, bucket_of
from lifecycle.monitor import (
    MonitorAction,
    RolloutPhase,
    RolloutView,
    change_in_flight,
    decide,
    mark_taken,
    monitor_mark,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PASSED = Verdict("error_rate", VerdictStatus.PASSED, "error rate 0.00% is within 1.00%")
WAITING = Verdict("min_requests", VerdictStatus.INCONCLUSIVE, "only 3 of the 50 requests")
FAILED = Verdict("error_rate", VerdictStatus.FAILED, "error rate 20.00% is above 1.00%")


def canary(index: int = 0, started_ago: float = 100.0) -> RolloutView:
    return RolloutView(
        RolloutPhase.PROGRESSING,
        (10.0, 25.0, 50.0, 100.0),
        index,
        NOW - timedelta(seconds=started_ago),
        60.0,
    )


def warm(left: float) -> RolloutView:
    return RolloutView(
        RolloutPhase.WARM, (10.0, 100.0), 1, NOW, 60.0, warm_until=NOW + timedelta(seconds=left)
    )


CASES = {
    "a failed gate rolls back even mid-pause": (canary(started_ago=1), [FAILED], True, "rollback"),
    "a dead endpoint rolls back whatever the figures": (canary(), [PASSED], False, "rollback"),
    "a passing step waits out its pause": (canary(started_ago=10), [PASSED], True, "wait"),
    "inconclusive after the pause still waits": (canary(), [WAITING], True, "wait"),
    "no verdict at all is inconclusive": (canary(), [], True, "wait"),
    "a passing step after its pause advances": (canary(), [PASSED], True, "advance"),
    "the step before 100% completes": (canary(index=2), [PASSED], True, "complete"),
    "warm and healthy, period not over, waits": (warm(30), [PASSED], True, "wait"),
    "warm period over and healthy retires the old": (warm(-1), [PASSED], True, "retire"),
    "warm period over but inconclusive keeps it warm": (warm(-1), [WAITING], True, "wait"),
    "a warm deployment that fails rolls back": (warm(30), [FAILED], True, "rollback"),
}


@pytest.mark.parametrize(("view", "verdicts", "alive", "action"), CASES.values(), ids=CASES.keys())
def test_the_action_for_each_situation(
    view: RolloutView, verdicts: list[Verdict], alive: bool, action: str
) -> None:
    assert decide(view, verdicts, NOW, alive).action is MonitorAction(action)


def test_advancing_names_the_next_weight_and_every_reason() -> None:
    decision = decide(canary(index=1), [PASSED], NOW, True)
    assert decision.next_percent == 50.0
    assert "step 2 of 4 at 25% passed: on to 50%" in decision.message
    assert PASSED.message in decision.reasons


def test_a_shadow_is_only_observed_even_when_its_agreement_fails() -> None:
    shadow = RolloutView(RolloutPhase.SHADOW, (), 0, NOW, 60.0)
    decision = decide(shadow, [FAILED], NOW, True)
    assert (decision.action, decision.status) == (MonitorAction.OBSERVE, VerdictStatus.FAILED)


def test_a_steps_figures_are_the_difference_of_two_readings() -> None:
    before = RequestCounts(100, 1, {bucket_of(5.0): 100})
    after = RequestCounts(160, 9, {bucket_of(5.0): 130, bucket_of(400.0): 30})

    step = after.since(before).metrics()

    assert (step.request_count, step.error_count) == (60, 8)
    assert step.p95_ms is not None and step.p95_ms > 300


def test_counters_that_went_back_count_from_zero_again() -> None:
    restarted = RequestCounts(20, 0, {bucket_of(5.0): 20})
    assert restarted.since(RequestCounts(500, 3, {bucket_of(5.0): 500})) == restarted


def test_counts_survive_a_round_trip_through_json() -> None:
    counts = RequestCounts(7, 2, {3: 4, 90: 3})
    assert RequestCounts.from_json(counts.to_json()) == counts
    assert RequestCounts.from_json(None) == RequestCounts()


@pytest.mark.parametrize(
    ("holder", "marked_seconds_ago", "left_alone"),
    [
        (None, None, False),  # not marked: judged as usual
        ("deploy-run", None, False),  # a holder without a time is no mark
        ("deploy-run", 0.0, True),  # marked just now by another actor
        ("deploy-run", -5.0, True),  # a mark set by a clock a little ahead
        ("deploy-run", 599.0, True),
        ("deploy-run", 599.5, True),
        ("deploy-run", 600.0, False),  # as old as the bound: a crashed run's, stale
        ("deploy-run", 3600.0, False),
        ("monitor:tick-1", 0.0, False),  # the monitor's own: a tick cut short
        ("monitors-run", 0.0, True),  # only the prefix with its colon names the monitor
    ],
)
def test_a_marked_deployment_is_left_alone_until_its_mark_is_stale(
    holder: str | None, marked_seconds_ago: float | None, left_alone: bool
) -> None:
    since = None if marked_seconds_ago is None else NOW - timedelta(seconds=marked_seconds_ago)

    assert change_in_flight(holder, since, NOW, 600.0) is left_alone


def test_the_monitors_mark_names_its_run() -> None:
    assert monitor_mark("tick-1") == "monitor:tick-1"


@pytest.mark.parametrize(
    ("other", "marked_seconds_ago", "holder", "taken"),
    [
        (None, None, "deploy-run", False),  # not marked
        ("deploy-run", 0.0, "deploy-run", False),  # its own mark: a resume marks again
        ("deploy-run", 0.0, "rollback-run", True),  # another actor's fresh mark
        ("deploy-run", 599.0, "monitor:tick-2", True),
        ("deploy-run", 600.0, "rollback-run", False),  # stale: a crashed run's
        ("deploy-run", None, "rollback-run", False),
        ("monitor:tick-1", 0.0, "monitor:tick-2", False),  # a tick cut short, taken over
        ("monitor:tick-1", 0.0, "deploy-run", True),  # the monitor is changing it now
        ("monitor:tick-1", 600.0, "deploy-run", False),
    ],
)
def test_a_mark_is_refused_over_another_actors_fresh_mark(
    other: str | None, marked_seconds_ago: float | None, holder: str, taken: bool
) -> None:
    since = None if marked_seconds_ago is None else NOW - timedelta(seconds=marked_seconds_ago)

    assert mark_taken(other, since, holder, NOW, 600.0) is taken
