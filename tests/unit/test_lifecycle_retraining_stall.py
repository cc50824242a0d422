"""A retraining run cut short (lifecycle.retraining_stall): an active run without progress for
the stale time is resumed, a few times at most, then failed; anything else is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.retraining_stall import RunProgress, StallAction, judge_stall

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HOUR = 3600.0


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("run", "max_attempts", "action", "reason"),
    [
        (RunProgress("running", ago(200), ago(190), ago(10)), 2, StallAction.WAIT,
         "no progress for 10m; it may still be running (stalled after 1h)"),
        (RunProgress("running", ago(200), ago(190), ago(61)), 2, StallAction.RESUME,
         "no progress for 1h01m"),
        (RunProgress("running", ago(200), ago(190), ago(60)), 2, StallAction.RESUME,
         "no progress for 1h00m; resume 1"),  # exactly the stale time counts
        (RunProgress("evaluating", ago(200), ago(190), ago(90), 1), 2, StallAction.RESUME,
         "resume 2"),
        (RunProgress("running", ago(200), ago(190), ago(90), 2), 2, StallAction.FAIL,
         "stalled: no progress for 1h30m after 2 resumes"),
        (RunProgress("running", ago(200), ago(190), ago(90), 1), 1, StallAction.FAIL,
         "after 1 resume"),
        (RunProgress("running", ago(200), ago(190), ago(90), 0), 0, StallAction.FAIL,
         "after 0 resumes"),
        (RunProgress("running", ago(200), ago(190), ago(90), 9), None, StallAction.RESUME,
         "resume 10"),  # by hand: no limit
        (RunProgress("running", ago(200), ago(70)), 2, StallAction.RESUME,
         "no progress for 1h10m"),  # before the heartbeat: its start counts
        (RunProgress("running", ago(200), ago(30)), 2, StallAction.WAIT, "30m"),
        (RunProgress("running", ago(61)), 2, StallAction.RESUME, "1h01m"),  # nor a start
        (RunProgress("requested", ago(300)), 2, StallAction.WAIT, "it is requested, not running"),
        (RunProgress("awaiting_approval", ago(300)), 2, StallAction.WAIT, "awaiting_approval"),
        (RunProgress("failed", ago(300), ago(300), ago(300)), 2, StallAction.WAIT, "failed"),
        (RunProgress("handed_over", ago(300), ago(300), ago(300)), None, StallAction.WAIT,
         "handed_over"),
        (RunProgress("running", ago(5), ago(5), NOW + timedelta(minutes=1)), 2, StallAction.WAIT,
         "no progress for 0s"),  # a clock behind the database's is never stale
    ],
)  # fmt: skip
def test_an_active_run_without_progress_is_resumed_then_failed(
    run: RunProgress, max_attempts: int | None, action: StallAction, reason: str
) -> None:
    verdict = judge_stall(run, NOW, HOUR, max_attempts)
    assert verdict.action is action
    assert reason in verdict.reason


def test_a_zero_stale_time_takes_up_any_running_run() -> None:
    """What ``deployer retraining resume --force`` asks."""
    run = RunProgress("running", NOW, NOW, NOW)
    assert judge_stall(run, NOW, 0.0, None).action is StallAction.RESUME
