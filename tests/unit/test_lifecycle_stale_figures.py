"""Stale figures pinned exactly: a rollout whose gateway stopped reporting is rolled back with
that reason once both the ticks and the age reach their bounds, and only then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.gates import Verdict, VerdictStatus
from lifecycle.monitor import (
    MonitorAction,
    MonitorDecision,
    RolloutPhase,
    RolloutView,
    judge,
    stale_figures,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PASSED = Verdict("error_rate", VerdictStatus.PASSED, "error rate 0.00% is within 1.00%")
WAITING = Verdict("min_requests", VerdictStatus.INCONCLUSIVE, "only 0 of the 50 requests")
CANARY = RolloutView(
    RolloutPhase.PROGRESSING, (10.0, 50.0, 100.0), 0, NOW - timedelta(seconds=100), 60.0
)
WARM = RolloutView(RolloutPhase.WARM, (10.0, 100.0), 1, NOW, 60.0, NOW + timedelta(seconds=30))
SHADOW = RolloutView(RolloutPhase.SHADOW, (), 0, NOW, 60.0)
STALE = "figures stale: no gateway report for 3 ticks (45 s)"

TABLE = {
    "both bounds reached": (3, 30.0, STALE.replace("45", "30")),
    "ticks past, age at the bound": (
        5,
        30.0,
        "figures stale: no gateway report for 5 ticks (30 s)",
    ),
    "age rounds in the sentence": (4, 90.6, "figures stale: no gateway report for 4 ticks (91 s)"),
    "one tick short": (2, 600.0, None),
    "just under the age": (3, 29.999, None),
    "no tick at all": (0, 600.0, None),
    "fresh": (1, 0.0, None),
}


@pytest.mark.parametrize(("ticks", "seconds", "reason"), TABLE.values(), ids=TABLE.keys())
def test_figures_are_stale_only_when_ticks_and_age_both_reach_their_bounds(
    ticks: int, seconds: float, reason: str | None
) -> None:
    assert stale_figures(ticks, seconds, 3, 30.0) == reason


@pytest.mark.parametrize("rollout", [CANARY, WARM, SHADOW], ids=lambda r: r.phase.value)
@pytest.mark.parametrize("verdicts", [[PASSED], [WAITING], []], ids=["passed", "waiting", "none"])
def test_stale_figures_roll_back_a_live_rollout_whatever_its_figures_say(
    rollout: RolloutView, verdicts: list[Verdict]
) -> None:
    assert judge(rollout, verdicts, NOW, True, stale=STALE) == MonitorDecision(
        MonitorAction.ROLLBACK, VerdictStatus.FAILED, (STALE,)
    )


def test_a_pending_rollback_is_finished_before_stale_figures_are_reported() -> None:
    decision = judge(CANARY, [PASSED], NOW, True, pending=("p95 3x",), stale=STALE)
    assert decision.reasons == ("finishing the rollback", "p95 3x")


def test_a_dead_canary_with_stale_figures_says_its_process_is_gone() -> None:
    assert judge(CANARY, [PASSED], NOW, False, stale=STALE) == MonitorDecision(
        MonitorAction.ROLLBACK, VerdictStatus.FAILED, ("the endpoint's process is gone",)
    )


def test_a_dead_shadow_with_stale_figures_says_its_process_is_gone() -> None:
    assert judge(SHADOW, [PASSED], NOW, False, stale=STALE).reasons == (
        "the shadow's process is gone",
    )


def test_fresh_figures_leave_the_judgement_to_decide() -> None:
    assert judge(CANARY, [WAITING], NOW, True, stale=None).action is MonitorAction.WAIT
