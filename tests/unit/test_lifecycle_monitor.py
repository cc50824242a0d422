"""The monitor's decisions pinned exactly: the action, the status it reports, the next weight
and every sentence, at the edges of a canary's pause and a warm period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.gates import Verdict, VerdictStatus
from lifecycle.monitor import (
    OPEN_PHASES,
    MonitorAction,
    MonitorDecision,
    RolloutPhase,
    RolloutView,
    decide,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
P, F, INC = VerdictStatus.PASSED, VerdictStatus.FAILED, VerdictStatus.INCONCLUSIVE
OK = Verdict("error_rate", P, "error rate 0.00% is within 1.00%")
SLOW = Verdict("latency_p95", P, "p95 9.0 ms is within 15.0 ms")
WAITING = Verdict("min_requests", INC, "only 3 of the 50 requests needed to judge")
BAD = Verdict("error_rate", F, "error rate 20.00% is above 1.00%")
WORSE = Verdict("latency_p99", F, "p99 90.0 ms is above 1.5x the baseline's 10.0 ms")
STEPS = (10.0, 25.0, 50.0, 100.0)


def canary(index: int = 0, left: float = -1.0, steps: tuple[float, ...] = STEPS) -> RolloutView:
    """A canary at step ``index`` whose 60 s pause has ``left`` seconds to go."""
    started = NOW - timedelta(seconds=60.0 - left)
    return RolloutView(RolloutPhase.PROGRESSING, steps, index, started, 60.0)


def warm(left: float | None) -> RolloutView:
    until = None if left is None else NOW + timedelta(seconds=left)
    return RolloutView(RolloutPhase.WARM, (10.0, 100.0), 0, NOW, 60.0, warm_until=until)


def test_a_canary_pause_with_one_second_left_still_waits() -> None:
    assert decide(canary(left=1.0), [OK], NOW, True) == MonitorDecision(
        MonitorAction.WAIT, P, ("step 1 of 4 at 10%: 1 s of its pause left", OK.message)
    )


def test_a_canary_pause_with_half_a_second_left_still_waits() -> None:
    assert decide(canary(left=0.5), [OK], NOW, True).action is MonitorAction.WAIT


def test_a_canary_pause_that_just_ended_advances() -> None:
    assert decide(canary(left=0.0), [OK, SLOW], NOW, True) == MonitorDecision(
        MonitorAction.ADVANCE,
        P,
        ("step 1 of 4 at 10% passed: on to 25%", OK.message, SLOW.message),
        25.0,
    )


def test_an_inconclusive_step_after_its_pause_waits_and_says_so() -> None:
    assert decide(canary(index=1), [OK, WAITING], NOW, True) == MonitorDecision(
        MonitorAction.WAIT,
        INC,
        ("step 2 of 4 at 25%: waiting, not enough to judge", OK.message, WAITING.message),
    )


def test_a_step_with_no_verdict_waits_as_inconclusive() -> None:
    decision = decide(canary(), [], NOW, True)
    assert (decision.action, decision.status) == (MonitorAction.WAIT, INC)


def test_the_step_before_100_completes_at_full_traffic() -> None:
    assert decide(canary(index=2), [OK], NOW, True) == MonitorDecision(
        MonitorAction.COMPLETE,
        P,
        ("step 3 of 4 at 50% passed: the canary takes all traffic", OK.message),
        100.0,
    )


def test_the_last_step_completes_even_without_100_in_the_steps() -> None:
    decision = decide(canary(index=1, steps=(10.0, 50.0)), [OK], NOW, True)
    assert (decision.action, decision.next_percent) == (MonitorAction.COMPLETE, 100.0)


def test_a_next_step_above_100_completes_rather_than_advancing() -> None:
    decision = decide(canary(index=0, steps=(10.0, 120.0)), [OK], NOW, True)
    assert (decision.action, decision.next_percent) == (MonitorAction.COMPLETE, 100.0)


def test_a_step_just_under_100_is_advanced_to() -> None:
    decision = decide(canary(index=0, steps=(10.0, 99.9, 100.0)), [OK], NOW, True)
    assert (decision.action, decision.next_percent) == (MonitorAction.ADVANCE, 99.9)


def test_failed_gates_roll_back_mid_pause_with_only_the_failures() -> None:
    assert decide(canary(left=30.0), [OK, BAD, WAITING, WORSE], NOW, True) == MonitorDecision(
        MonitorAction.ROLLBACK, F, (BAD.message, WORSE.message)
    )


@pytest.mark.parametrize("view", [canary(), warm(30.0)], ids=["canary", "warm"])
def test_a_dead_endpoint_rolls_back_whatever_its_gates_say(view: RolloutView) -> None:
    assert decide(view, [OK], NOW, False) == MonitorDecision(
        MonitorAction.ROLLBACK, F, ("the endpoint's process is gone",)
    )


@pytest.mark.parametrize(
    ("verdicts", "status"), [([OK], P), ([OK, WAITING], INC), ([BAD, OK], F)], ids=["p", "i", "f"]
)
def test_a_shadow_is_observed_with_its_overall_status_and_every_reason(
    verdicts: list[Verdict], status: VerdictStatus
) -> None:
    shadow = RolloutView(RolloutPhase.SHADOW, (), 0, NOW, 60.0)
    assert decide(shadow, verdicts, NOW, True) == MonitorDecision(
        MonitorAction.OBSERVE, status, tuple(v.message for v in verdicts)
    )


def test_a_dead_shadow_is_rolled_back() -> None:
    shadow = RolloutView(RolloutPhase.SHADOW, (), 0, NOW, 60.0)
    assert decide(shadow, [OK], NOW, False).action is MonitorAction.ROLLBACK


def test_a_warm_period_with_one_second_left_still_waits() -> None:
    assert decide(warm(1.0), [OK], NOW, True) == MonitorDecision(
        MonitorAction.WAIT, P, ("serving 100%, the old deployment stays warm 1 s more", OK.message)
    )


def test_a_warm_period_with_half_a_second_left_still_waits() -> None:
    assert decide(warm(0.5), [OK], NOW, True).action is MonitorAction.WAIT


@pytest.mark.parametrize("left", [0.0, None], ids=["just over", "no end set"])
def test_a_warm_period_that_is_over_retires_the_old_deployment(left: float | None) -> None:
    assert decide(warm(left), [OK], NOW, True) == MonitorDecision(
        MonitorAction.RETIRE,
        P,
        ("warm period over and healthy: the old deployment is retired", OK.message),
    )


def test_a_warm_period_over_but_inconclusive_keeps_the_old_deployment_warm() -> None:
    assert decide(warm(0.0), [WAITING], NOW, True) == MonitorDecision(
        MonitorAction.WAIT,
        INC,
        (
            "warm period over, but not enough to judge: the old deployment stays warm",
            WAITING.message,
        ),
    )


def test_a_warm_deployment_that_fails_rolls_back() -> None:
    assert decide(warm(30.0), [BAD], NOW, True) == MonitorDecision(
        MonitorAction.ROLLBACK, F, (BAD.message,)
    )


WEIGHTS = {
    "the current step": (canary(index=1), 25.0),
    "past the last step stays at the last": (canary(index=9), 100.0),
    "a warm deployment serves everything": (warm(1.0), 100.0),
    "no steps serve everything": (RolloutView(RolloutPhase.PROGRESSING, (), 0, NOW, 1.0), 100.0),
    "the first step": (canary(index=0, steps=(5.0, 50.0)), 5.0),
}


@pytest.mark.parametrize(("view", "weight"), WEIGHTS.values(), ids=WEIGHTS.keys())
def test_a_rollouts_weight(view: RolloutView, weight: float) -> None:
    assert view.weight == weight


def test_a_decisions_message_joins_its_reasons() -> None:
    assert MonitorDecision(MonitorAction.WAIT, INC, ("a", "b")).message == "a; b"


def test_only_progressing_warm_and_shadow_rollouts_are_watched() -> None:
    assert frozenset({"progressing", "warm", "shadow"}) == OPEN_PHASES
