"""Changes to the outside world, made between two commits: intent, effect, outcome.

A node that stops a server or moves a registry stage does not do it inside a write transaction
(a stop takes up to 15 s, and on PostgreSQL another actor would see the old rows meanwhile and
act on a server that is already gone). :func:`change` first marks the deployments it is about to
change (``changing_run_id``/``changing_since``, committed), then acts on the outside world (each
effect idempotent: stopping a stopped server, setting a stage twice), then records the outcome
and clears the marks in one commit keyed ``<run_id>:<node>`` (:func:`once`). A run killed in
between leaves its marks; its resume runs the node again, which marks again under the same run
id, repeats the effects and clears them. The monitor leaves marked deployments alone
(:func:`left_alone`) until a mark is older than ``AgentPolicy.change_mark_seconds``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agents.model_deployer.deps import DeployerDeps
from agents.model_deployer.idempotency import already_done, once
from database.models import DeploymentRow
from database.protocols import UnitOfWork
from lifecycle.errors import ConflictError
from lifecycle.monitor import change_in_flight

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
) -> dict[str, Any]:
    """Mark the ``marked`` deployments (commit), run ``effect``, then ``record`` the outcome and
    clear the marks (commit, keyed). Returns ``record``'s result, or the stored one when this
    run's node already recorded it (nothing is marked or done again then)."""
    done = already_done(deps, run_id, node)
    if done is not None:
        return done
    ids = sorted({d for d in marked if d})
    mark(deps, run_id, ids)
    effect()

    def act(uow: UnitOfWork) -> dict[str, Any]:
        result = record(uow)
        unmark(uow, run_id, ids)
        return result

    return once(deps, run_id, node, act)


def mark(deps: DeployerDeps, run_id: str, deployment_ids: list[str]) -> None:
    """Commit that ``run_id`` is changing these deployments; a fresh mark of another run is
    refused (two actors never change one deployment at once)."""
    if not deployment_ids:
        return
    holder_id, now = run_id[:RUN_ID_LENGTH], deps.clock.now()
    with deps.uow() as uow:
        for deployment_id in deployment_ids:
            row = uow.deployments.get(deployment_id)
            if row.changing_run_id not in (None, holder_id) and left_alone(deps, row):
                raise ConflictError(
                    f"{deployment_id} is being changed by run {row.changing_run_id}; try again"
                )
            row.changing_run_id, row.changing_since = holder_id, now
        uow.commit()


def unmark(uow: UnitOfWork, run_id: str, deployment_ids: list[str]) -> None:
    """Clear this run's marks (in the transaction that records the outcome)."""
    for deployment_id in deployment_ids:
        row = uow.deployments.get(deployment_id)
        if row.changing_run_id == run_id[:RUN_ID_LENGTH]:
            row.changing_run_id, row.changing_since = None, None


def left_alone(deps: DeployerDeps, row: DeploymentRow) -> bool:
    """Whether ``row`` is being changed by a run now (marked, and the mark is not stale)."""
    if row.changing_run_id is None:
        return False
    return change_in_flight(row.changing_since, deps.clock.now(), deps.policy.change_mark_seconds)


def stop_servers(deps: DeployerDeps, deployment_ids: Iterable[str | None]) -> None:
    """Stop these deployments' servers (idempotent), reading where they run first."""
    ids = [d for d in deployment_ids if d]
    if not ids:
        return
    with deps.uow() as uow:
        endpoints = [uow.deployments.get(d).endpoint() for d in ids]
    for endpoint in endpoints:
        deps.serving.stop(endpoint)
