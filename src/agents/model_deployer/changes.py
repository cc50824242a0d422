"""Changes to the outside world, made between two commits: intent, effect, outcome.

A node that stops a server or moves a registry stage does not do it inside a write transaction
(a stop takes up to 15 s, and on PostgreSQL another actor would see the old rows meanwhile and
act on a server that is already gone). :func:`change` first marks the deployments it is about to
change (``changing_run_id``/``changing_since``, committed), then acts on the outside world (each
effect idempotent: stopping a stopped server, setting a stage twice), then records the outcome
and clears the marks in one commit keyed ``<run_id>:<node>`` (:func:`once`). A run killed in
between leaves its marks; its resume runs the node again, which marks again under the same run
id, repeats the effects and clears them. The monitor leaves marked deployments alone
(:func:`left_alone`) until a mark is older than ``AgentPolicy.change_mark_seconds``; its own
marks (``lifecycle.monitor.monitor_mark``) never keep it away, so a tick cut short is finished
by the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from agents.keyed_steps import already_done, once
from agents.model_deployer.deps import DeployerDeps
from database.models import DeploymentRow
from database.protocols import UnitOfWork
from database.tick_reads import DeploymentFacts
from lifecycle.errors import ConflictError
from lifecycle.monitor import change_in_flight, mark_taken

Effect = Callable[[], None]
Record = Callable[[UnitOfWork], dict[str, Any]]
RUN_ID_LENGTH = 100
"""The width of ``ml_deployments.changing_run_id``."""


def change(
    deps: DeployerDeps,
    run_id: str,
    node: str,
    marked: Iterable[str | None],
    effect: Effect,
    record: Record,
    holder: str | None = None,
) -> dict[str, Any]:
    """Mark the ``marked`` deployments (commit), run ``effect``, then ``record`` the outcome and
    clear the marks (commit, keyed). Returns ``record``'s result, or the stored one when this
    run's node already recorded it (nothing is marked or done again then). The mark names
    ``holder`` (the run id unless told: the monitor's acts give ``monitor_mark(run_id)``)."""
    done = already_done(deps, run_id, node)
    if done is not None:
        return done
    ids, holder = sorted({d for d in marked if d}), holder or run_id
    mark(deps, holder, ids)
    effect()

    def act(uow: UnitOfWork) -> dict[str, Any]:
        result = record(uow)
        unmark(uow, holder, ids)
        return result

    return once(deps, run_id, node, act)


def nothing() -> None:
    """No outside effect: only the record changes."""


def mark(deps: DeployerDeps, holder: str, deployment_ids: list[str]) -> None:
    """Commit that ``holder`` (a run) is changing these deployments; another actor's fresh
    mark is refused (two actors never change one deployment at once)."""
    if not deployment_ids:
        return
    holder_id, now = holder[:RUN_ID_LENGTH], deps.clock.now()
    with deps.uow() as uow:
        for deployment_id in deployment_ids:
            row = uow.deployments.get(deployment_id)
            if _held_by_another(deps, row, holder_id):
                raise ConflictError(
                    f"{deployment_id} is being changed by run {row.changing_run_id}; try again"
                )
            row.changing_run_id, row.changing_since = holder_id, now
        uow.commit()


def unmark(uow: UnitOfWork, holder: str, deployment_ids: list[str]) -> None:
    """Clear this holder's marks (in the transaction that records the outcome)."""
    for deployment_id in deployment_ids:
        row = uow.deployments.get(deployment_id)
        if row.changing_run_id == holder[:RUN_ID_LENGTH]:
            row.changing_run_id, row.changing_since = None, None


def left_alone(deps: DeployerDeps, row: DeploymentRow | DeploymentFacts) -> bool:
    """Whether the monitor leaves ``row`` alone: another actor's run is changing it now."""
    return marked_now(deps, row.changing_run_id, row.changing_since)


def marked_now(deps: DeployerDeps, run_id: str | None, since: datetime | None) -> bool:
    """``left_alone`` over a deployment's mark as read (``deployments.change_marks``)."""
    return change_in_flight(run_id, since, deps.clock.now(), deps.policy.change_mark_seconds)


def _held_by_another(deps: DeployerDeps, row: DeploymentRow, holder: str) -> bool:
    """Whether another actor's fresh mark is on ``row`` (``lifecycle.monitor.mark_taken``)."""
    return mark_taken(
        row.changing_run_id,
        row.changing_since,
        holder,
        deps.clock.now(),
        deps.policy.change_mark_seconds,
    )


def stop_servers(deps: DeployerDeps, deployment_ids: Iterable[str | None]) -> None:
    """Stop these deployments' servers (idempotent), reading where they run first."""
    ids = [d for d in deployment_ids if d]
    if not ids:
        return
    with deps.uow() as uow:
        endpoints = [uow.deployments.get(d).endpoint() for d in ids]
    for endpoint in endpoints:
        deps.serving.stop(endpoint)
