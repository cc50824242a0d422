"""A retraining run cut short (lifecycle.retraining_stall): an active run without progress for
the stale time is resumed, a few times at most, then failed; anything else is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.retraining_stall import RunProgress, StallAction, StallVerdict, judge_stall

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HOUR = 3600.0


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


WAITING = "; it may still be running (stalled after 1h)"


@pytest.mark.parametrize(
    ("run", "max_attempts", "action", "reason"),
    [
        (RunProgress("running", ago(200), ago(190), ago(10)), 2, StallAction.WAIT,
         "no progress for 10m" + WAITING),
        (RunProgress("running", ago(200), ago(190), ago(61)), 2, StallAction.RESUME,
         "no progress for 1h01m; resume 1"),
        (RunProgress("running", ago(200), ago(190), ago(60)), 2, StallAction.RESUME,
         "no progress for 1h00m; resume 1"),  # exactly the stale time counts
        (RunProgress("evaluating", ago(200), ago(190), ago(90), 1), 2, StallAction.RESUME,
         "no progress for 1h30m; resume 2"),
        (RunProgress("running", ago(200), ago(190), ago(90), 2), 2, StallAction.FAIL,
         "stalled: no progress for 1h30m after 2 resumes"),
        (RunProgress("running", ago(200), ago(190), ago(90), 1), 1, StallAction.FAIL,
         "stalled: no progress for 1h30m after 1 resume"),  # one resume, singular
        (RunProgress("running", ago(200), ago(190), ago(90), 0), 0, StallAction.FAIL,
         "stalled: no progress for 1h30m after 0 resumes"),
        (RunProgress("running", ago(200), ago(190), ago(90), 9), None, StallAction.RESUME,
         "no progress for 1h30m; resume 10"),  # by hand: no limit
        (RunProgress("running", ago(200), ago(70)), 2, StallAction.RESUME,
         "no progress for 1h10m; resume 1"),  # before the heartbeat: its start counts
        (RunProgress("running", ago(200), ago(30)), 2, StallAction.WAIT,
         "no progress for 30m" + WAITING),
        (RunProgress("running", ago(61)), 2, StallAction.RESUME,
         "no progress for 1h01m; resume 1"),  # nor a start
        (RunProgress("requested", ago(300)), 2, StallAction.WAIT, "it is requested, not running"),
        (RunProgress("awaiting_approval", ago(300)), 2, StallAction.WAIT,
         "it is awaiting_approval, not running"),
        (RunProgress("failed", ago(300), ago(300), ago(300)), 2, StallAction.WAIT,
         "it is failed, not running"),
        (RunProgress("handed_over", ago(300), ago(300), ago(300)), None, StallAction.WAIT,
         "it is handed_over, not running"),
        (RunProgress("running", ago(5), ago(5), NOW + timedelta(minutes=1)), 2, StallAction.WAIT,
         "no progress for 0s" + WAITING),  # a clock behind the database's is never stale
        (RunProgress("running", ago(5), ago(5), NOW - timedelta(seconds=59)), 2, StallAction.WAIT,
         "no progress for 59s" + WAITING),  # under a minute: seconds
        (RunProgress("running", ago(5), ago(5), ago(1)), 2, StallAction.WAIT,
         "no progress for 1m" + WAITING),  # a whole minute reads as minutes, not 60s
    ],
)  # fmt: skip
def test_an_active_run_without_progress_is_resumed_then_failed(
    run: RunProgress, max_attempts: int | None, action: StallAction, reason: str
) -> None:
    assert judge_stall(run, NOW, HOUR, max_attempts) == StallVerdict(action, reason)


def test_a_zero_stale_time_takes_up_any_running_run() -> None:
    """What ``deployer retraining resume --force`` asks."""
    run = RunProgress("running", NOW, NOW, NOW)
    assert judge_stall(run, NOW, 0.0, None).action is StallAction.RESUME
