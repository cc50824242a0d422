"""A tick's judgement of one rollout: a rollback already decided is finished first, a shadow
whose process is gone is rolled back, and everything else is ``decide``'s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.gates import Verdict, VerdictStatus
from lifecycle.monitor import (
    MonitorAction,
    MonitorDecision,
    RolloutPhase,
    RolloutView,
    decide,
    judge,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PASSED = Verdict("error_rate", VerdictStatus.PASSED, "error rate 0.00% is within 1.00%")
FAILED = Verdict("error_rate", VerdictStatus.FAILED, "error rate 20.00% is above 1.00%")
CANARY = RolloutView(
    RolloutPhase.PROGRESSING, (10.0, 50.0, 100.0), 0, NOW - timedelta(seconds=100), 60.0
)
WARM = RolloutView(RolloutPhase.WARM, (10.0, 100.0), 1, NOW, 60.0, NOW + timedelta(seconds=30))
SHADOW = RolloutView(RolloutPhase.SHADOW, (), 0, NOW, 60.0)


@pytest.mark.parametrize("rollout", [CANARY, WARM, SHADOW], ids=lambda r: r.phase.value)
@pytest.mark.parametrize("alive", [True, False])
def test_a_decided_rollback_is_finished_first_with_its_reasons(
    rollout: RolloutView, alive: bool
) -> None:
    decision = judge(rollout, [PASSED], NOW, alive, pending=("error rate 20%", "p95 3x"))
    assert decision == MonitorDecision(
        MonitorAction.ROLLBACK,
        VerdictStatus.FAILED,
        ("finishing the rollback", "error rate 20%", "p95 3x"),
    )


def test_a_decided_rollback_without_reasons_is_still_finished() -> None:
    decision = judge(CANARY, [PASSED], NOW, True, pending=())
    assert (decision.action, decision.reasons) == (
        MonitorAction.ROLLBACK,
        ("finishing the rollback",),
    )


def test_a_shadow_whose_process_is_gone_is_rolled_back() -> None:
    assert judge(SHADOW, [PASSED], NOW, False) == MonitorDecision(
        MonitorAction.ROLLBACK, VerdictStatus.FAILED, ("the shadow's process is gone",)
    )


@pytest.mark.parametrize(
    ("rollout", "verdicts", "alive"),
    [
        (SHADOW, [PASSED], True),
        (SHADOW, [FAILED], True),
        (CANARY, [PASSED], True),
        (CANARY, [FAILED], True),
        (CANARY, [PASSED], False),
        (WARM, [PASSED], True),
        (WARM, [PASSED], False),
    ],
)
def test_with_nothing_pending_the_judgement_is_decides(
    rollout: RolloutView, verdicts: list[Verdict], alive: bool
) -> None:
    assert judge(rollout, verdicts, NOW, alive) == decide(rollout, verdicts, NOW, alive)


def test_a_dead_canary_is_rolled_back_as_its_endpoint_not_as_a_shadow() -> None:
    assert judge(CANARY, [PASSED], NOW, False).reasons == ("the endpoint's process is gone",)
