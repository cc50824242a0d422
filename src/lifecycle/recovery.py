"""Healing a deploy a crash left half done: pure decisions over what the watcher reads.

A deploy is in flight while its deployment is ``pending`` or ``deploying``. One that has made
no progress (no new checkpoint, no mark) for ``deadline_seconds`` is stuck: its thread is
resumed when it can be (it names the deploy, it is not finished, it waits on nobody); when it
cannot, or the resume did not finish it, the deployment is rolled back (its weight taken away,
its server stopped, marked failed). :func:`heal_stuck_deploy` decides; :func:`routes_without`
is the table that takes a stuck deployment's traffic away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lifecycle.ports import Routes
from lifecycle.routing import single, with_shadow_of, without_mirror
from lifecycle.stages import DeploymentStatus

IN_FLIGHT: frozenset[DeploymentStatus] = frozenset(
    {DeploymentStatus.PENDING, DeploymentStatus.DEPLOYING}
)
"""Statuses of a deployment whose deploy has not finished."""


class HealAction(StrEnum):
    """What the watcher does about one deployment's deploy."""

    NONE = "none"  # the deploy finished: nothing to heal
    WAIT = "wait"  # still within its deadline: it may be running
    RESUME = "resume"  # take its thread up where it stopped
    ROLL_BACK = "rollback"  # take its weight away, stop its server, mark it failed


@dataclass(frozen=True, slots=True)
class HealDecision:
    """The action and the sentence that explains it."""

    action: HealAction
    reason: str


def heal_stuck_deploy(
    status: DeploymentStatus,
    last_progress: datetime,
    now: datetime,
    deadline_seconds: float,
    resumable: bool,
    resume_failed: bool = False,
) -> HealDecision:
    """Whether a deployment's deploy is stuck, and what heals it.

    ``last_progress`` is the latest sign of life (the row's creation, the run's mark, the
    thread's last checkpoint); ``resumable`` says its thread can be taken up;
    ``resume_failed`` that a resume was tried and did not finish the deploy."""
    if status not in IN_FLIGHT:
        return HealDecision(HealAction.NONE, f"the deploy is over ({status.value})")
    idle = (now - last_progress).total_seconds()
    stuck = f"{status.value} with no progress for {idle:.0f} s"
    if idle < deadline_seconds:
        return HealDecision(HealAction.WAIT, f"{stuck}; the deadline is {deadline_seconds:g} s")
    if resume_failed:
        return HealDecision(HealAction.ROLL_BACK, f"{stuck}; its resume did not finish it")
    if resumable:
        return HealDecision(HealAction.RESUME, f"{stuck}: resuming its thread")
    return HealDecision(HealAction.ROLL_BACK, f"{stuck}; its thread cannot be resumed")


def routes_without(
    routes: Routes | None, deployment_id: str, fallback: str | None
) -> Routes | None:
    """The table with ``deployment_id``'s traffic taken away (None: no change is needed, or
    nothing is left to send its users to). A mirror just stops; a weighted deployment's users
    go to the table's stable deployment, else to the heaviest other one, else to ``fallback``
    (the production deployment it was replacing); the mirror of another deployment stays."""
    if routes is None:
        return None
    if routes.shadow_deployment_id == deployment_id:
        return without_mirror(routes)
    if deployment_id not in routes.weights:
        return None
    others = {d: w for d, w in routes.weights.items() if d != deployment_id and w > 0}
    stable = routes.stable_deployment_id
    if stable is None or stable == deployment_id:
        stable = max(others, key=lambda d: others[d]) if others else fallback
    if stable is None or stable == deployment_id:
        return None
    return with_shadow_of(single(routes.model_name, stable), routes, set())
