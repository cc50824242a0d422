"""The monitoring tick's decisions: pure functions from a rollout, its verdicts and the time.

A rollout is the part of a deployment the monitor owns after the deploy returned: a canary's
remaining steps, a blue-green (or completed canary) deployment's warm period, a shadow's
comparison. Each tick judges it on the requests of its current step and decides one action:

- ``rollback`` when a gate failed, the endpoint's process is gone (every reason kept), or the
  figures went stale: no data is not a pass, and no data for long is a failure;
- ``wait`` when the step's pause has not elapsed or the verdict is inconclusive (said why);
- ``advance`` to the next canary weight once the pause elapsed and the gates passed;
- ``complete`` when the step that passed was the last before 100%;
- ``retire`` the replaced deployment once the warm period is over and nothing failed;
- ``observe`` a shadow (its verdicts feed the promotion gate; users never see it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lifecycle.gates import Verdict, VerdictStatus, overall


class RolloutPhase(StrEnum):
    """Where a rollout is; the last three are final."""

    PROGRESSING = "progressing"  # a canary between its first step and 100%
    WARM = "warm"  # serving 100%, the replaced deployment kept warm for an instant rollback
    SHADOW = "shadow"  # mirrored; compared, never serving
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"


OPEN_PHASES = frozenset({RolloutPhase.PROGRESSING, RolloutPhase.WARM, RolloutPhase.SHADOW})
"""Phases the monitor still looks at."""


class MonitorAction(StrEnum):
    """What a tick does about one rollout."""

    WAIT = "wait"
    ADVANCE = "advance"
    COMPLETE = "complete"
    ROLLBACK = "rollback"
    RETIRE = "retire"
    OBSERVE = "observe"
    RESTART = "restart"  # a routed deployment no rollout owns lost its server: start it again


@dataclass(frozen=True, slots=True)
class RolloutView:
    """What the decision needs to know about one rollout."""

    phase: RolloutPhase
    steps: tuple[float, ...]
    """Canary weights in order, the last one 100."""
    step_index: int
    step_started_at: datetime
    pause_seconds: float
    warm_until: datetime | None = None

    @property
    def weight(self) -> float:
        """The current canary weight (100 once warm)."""
        if self.phase is RolloutPhase.WARM or not self.steps:
            return 100.0
        return self.steps[min(self.step_index, len(self.steps) - 1)]


@dataclass(frozen=True, slots=True)
class MonitorDecision:
    """One tick's decision about one rollout and the sentences that explain it."""

    action: MonitorAction
    status: VerdictStatus
    reasons: tuple[str, ...]
    next_percent: float | None = None

    @property
    def message(self) -> str:
        """The reasons as one line."""
        return "; ".join(self.reasons)


def decide(
    rollout: RolloutView, verdicts: Sequence[Verdict], now: datetime, alive: bool
) -> MonitorDecision:
    """The action for ``rollout`` given its gates' ``verdicts`` at ``now``.

    A dead endpoint or any failed gate rolls back at once, whatever the pause. Inconclusive
    never advances, completes or retires anything.
    """
    status = overall(verdicts)
    if not alive:
        return MonitorDecision(
            MonitorAction.ROLLBACK, VerdictStatus.FAILED, ("the endpoint's process is gone",)
        )
    failed = tuple(v.message for v in verdicts if v.status is VerdictStatus.FAILED)
    if rollout.phase is RolloutPhase.SHADOW:
        return MonitorDecision(MonitorAction.OBSERVE, status, _messages(verdicts))
    if failed:
        return MonitorDecision(MonitorAction.ROLLBACK, VerdictStatus.FAILED, failed)
    if rollout.phase is RolloutPhase.WARM:
        return _warm(rollout, verdicts, status, now)
    return _canary(rollout, verdicts, status, now)


def judge(
    rollout: RolloutView,
    verdicts: Sequence[Verdict],
    now: datetime,
    alive: bool,
    pending: Sequence[str] | None = None,
    stale: str | None = None,
) -> MonitorDecision:
    """A tick's judgement of one rollout: :func:`decide`, after the three things a tick knows
    beyond the figures. A rollback already decided (``pending``, with its reasons) is finished
    before anything else; a shadow whose process is gone is rolled back (its mirror stopped);
    a live rollout whose figures are ``stale`` (the reason :func:`stale_figures` gave) is rolled
    back with that reason, whatever the figures it has say.
    """
    if pending is not None:
        return MonitorDecision(
            MonitorAction.ROLLBACK, VerdictStatus.FAILED, ("finishing the rollback", *pending)
        )
    if rollout.phase is RolloutPhase.SHADOW and not alive:
        return MonitorDecision(
            MonitorAction.ROLLBACK, VerdictStatus.FAILED, ("the shadow's process is gone",)
        )
    if alive and stale is not None:
        return MonitorDecision(MonitorAction.ROLLBACK, VerdictStatus.FAILED, (stale,))
    return decide(rollout, verdicts, now, alive)


def stale_figures(ticks: int, seconds: float, max_ticks: int, max_seconds: float) -> str | None:
    """Why a rollout's figures are stale, or None while they are fresh enough.

    ``ticks`` counts the monitor's ticks (this one included) since a gateway last reported
    figures of the deployment, and ``seconds`` is the age of that report as the database
    recorded it (or of the rollout's current step, when none came since). Both must reach
    their bound: many quick ticks between two flushes are not silence, and neither is one
    tick after a watcher's long absence.
    """
    if ticks < max_ticks or seconds < max_seconds:
        return None
    return f"figures stale: no gateway report for {ticks} ticks ({seconds:.0f} s)"


MONITOR_MARK_PREFIX = "monitor:"
"""How a mark the monitor itself set begins (followed by its run id)."""


def monitor_mark(run_id: str) -> str:
    """The mark the monitor sets on a deployment it changes in run ``run_id``."""
    return f"{MONITOR_MARK_PREFIX}{run_id}"


def change_in_flight(
    holder: str | None, marked_since: datetime | None, now: datetime, stale_after: float
) -> bool:
    """Whether the monitor leaves alone a deployment that ``holder`` marked (since
    ``marked_since``) as being changed: yes while another actor's mark is younger than
    ``stale_after`` seconds. An older mark is a crashed run's that nobody resumed, and the
    monitor's own mark is a tick cut short (ticks run one at a time, under the watch lease):
    neither keeps the monitor away, which then judges the deployment as usual."""
    if holder is None or marked_since is None or holder.startswith(MONITOR_MARK_PREFIX):
        return False
    return (now - marked_since).total_seconds() < stale_after


def mark_taken(
    other: str | None, marked_since: datetime | None, holder: str, now: datetime, stale_after: float
) -> bool:
    """Whether ``holder`` is refused a mark on a deployment ``other`` marked (since
    ``marked_since``): another actor's mark younger than ``stale_after`` seconds is. Its own
    mark, a stale one, and the monitor's mark when the monitor asks (a tick cut short is taken
    over by the next) are not."""
    if other is None or marked_since is None or other == holder:
        return False
    if other.startswith(MONITOR_MARK_PREFIX) and holder.startswith(MONITOR_MARK_PREFIX):
        return False
    return (now - marked_since).total_seconds() < stale_after


def _canary(
    rollout: RolloutView, verdicts: Sequence[Verdict], status: VerdictStatus, now: datetime
) -> MonitorDecision:
    elapsed = (now - rollout.step_started_at).total_seconds()
    left = rollout.pause_seconds - elapsed
    at = f"step {rollout.step_index + 1} of {len(rollout.steps)} at {rollout.weight:g}%"
    if left > 0:
        return MonitorDecision(
            MonitorAction.WAIT,
            status,
            (f"{at}: {left:.0f} s of its pause left", *_messages(verdicts)),
        )
    if status is not VerdictStatus.PASSED:
        return MonitorDecision(
            MonitorAction.WAIT,
            status,
            (f"{at}: waiting, not enough to judge", *_messages(verdicts)),
        )
    following = rollout.steps[rollout.step_index + 1 :]
    if not following or following[0] >= 100.0:
        return MonitorDecision(
            MonitorAction.COMPLETE,
            status,
            (f"{at} passed: the canary takes all traffic", *_messages(verdicts)),
            100.0,
        )
    return MonitorDecision(
        MonitorAction.ADVANCE,
        status,
        (f"{at} passed: on to {following[0]:g}%", *_messages(verdicts)),
        following[0],
    )


def _warm(
    rollout: RolloutView, verdicts: Sequence[Verdict], status: VerdictStatus, now: datetime
) -> MonitorDecision:
    until = rollout.warm_until or now
    left = (until - now).total_seconds()
    if left > 0:
        return MonitorDecision(
            MonitorAction.WAIT,
            status,
            (
                f"serving 100%, the old deployment stays warm {left:.0f} s more",
                *_messages(verdicts),
            ),
        )
    if status is not VerdictStatus.PASSED:
        return MonitorDecision(
            MonitorAction.WAIT,
            status,
            (
                "warm period over, but not enough to judge: the old deployment stays warm",
                *_messages(verdicts),
            ),
        )
    return MonitorDecision(
        MonitorAction.RETIRE,
        status,
        ("warm period over and healthy: the old deployment is retired", *_messages(verdicts)),
    )


def _messages(verdicts: Sequence[Verdict]) -> tuple[str, ...]:
    return tuple(v.message for v in verdicts)


def act_order(actions: Sequence[MonitorAction]) -> list[int]:
    """The order a tick carries its judgements out in, as indexes of ``actions``: rollbacks
    first (users are on a failing deployment until its switch), then the rest as judged."""
    return sorted(range(len(actions)), key=lambda i: actions[i] is not MonitorAction.ROLLBACK)
