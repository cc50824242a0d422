"""A retraining run cut short: an active run whose heartbeat (``progress_at``: its start, or a
keyed step's commit) is older than the stale time was left by a process that died. The watcher's
retraining worker resumes it from its checkpoint (the thread id is the run id and each step is
keyed, so nothing done is done again), a few times at most, then fails it, which frees the
model for its next retraining. Pure: the handler reads the run and acts on the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lifecycle.durations import shown
from lifecycle.retraining import RunStatus

STALLABLE = frozenset({RunStatus.RUNNING.value, RunStatus.EVALUATING.value})
"""The statuses in which the agent itself works on a run (a requested run waits for the
worker; one awaiting approval waits for a person)."""


class StallAction(StrEnum):
    WAIT = "wait"
    """Nothing to do: not running, or it made progress recently."""
    RESUME = "resume"
    """Take it up again from its checkpoint."""
    FAIL = "fail"
    """Resumed often enough: fail it and free the model."""


@dataclass(frozen=True)
class RunProgress:
    """What the decision needs of a ``retraining_runs`` row."""

    status: str
    requested_at: datetime
    started_at: datetime | None = None
    progress_at: datetime | None = None
    resume_attempts: int = 0

    @property
    def last_progress(self) -> datetime:
        """The heartbeat, else the start, else the request (a run from before the heartbeat)."""
        return self.progress_at or self.started_at or self.requested_at


@dataclass(frozen=True)
class StallVerdict:
    action: StallAction
    reason: str


def judge_stall(
    run: RunProgress, now: datetime, stale_seconds: float, max_attempts: int | None
) -> StallVerdict:
    """Whether to leave ``run``, resume it or fail it. ``max_attempts`` None: no limit (a
    person taking it up by hand)."""
    if run.status not in STALLABLE:
        return StallVerdict(StallAction.WAIT, f"it is {run.status}, not running")
    quiet = (now - run.last_progress).total_seconds()
    since = f"no progress for {_ago(quiet)}"
    if quiet < stale_seconds:
        return StallVerdict(
            StallAction.WAIT,
            f"{since}; it may still be running (stalled after {shown(round(stale_seconds))})",
        )
    if max_attempts is not None and run.resume_attempts >= max_attempts:
        tries = "resume" if run.resume_attempts == 1 else "resumes"
        return StallVerdict(
            StallAction.FAIL, f"stalled: {since} after {run.resume_attempts} {tries}"
        )
    return StallVerdict(StallAction.RESUME, f"{since}; resume {run.resume_attempts + 1}")


def _ago(seconds: float) -> str:
    """A quiet time as people read it: ``40s``, ``12m``, ``1h05m``."""
    if seconds < 60:
        return f"{max(0, round(seconds))}s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
