"""The ``move_aliases`` node: MLflow's ``@champion`` and ``@challenger`` follow the routing
table (issue 15). It ends every flow that may change a model's routes: a deploy (finished,
failed or a share change), a rollback (requested, or the monitor's), and every monitoring tick.

The decision is ``lifecycle.serving_aliases.aliases_for``; only aliases that differ are moved,
so a tick that changed nothing writes nothing to the registry. A failed move never fails the
run (the routing table, not the alias, is what serves users): it is logged, and the next tick,
which reconciles every routed model again, repeats it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agents.model_deployer.deps import DeployerDeps
from agents.model_deployer.state import State
from database.protocols import UnitOfWork
from lifecycle.ports import ModelRegistry, Router
from lifecycle.serving_aliases import alias_moves, aliases_for

log = logging.getLogger(__name__)

NODE = "move_aliases"


def move_serving_aliases(
    uow: Callable[[], UnitOfWork], router: Router, registry: ModelRegistry, model_name: str
) -> dict[str, str | None]:
    """Point ``model_name``'s serving aliases at what its routing table serves now; returns
    the aliases as they should read (raises what the router, database or registry raise).
    Call it with no unit of work open (it opens one to read the deployments)."""
    routes = router.get_routes(model_name)
    with uow() as reading:
        listed = reading.deployments.list(model_name)
        versions = {d.deployment_id: d.model_version for d in listed}
    wanted = aliases_for(routes, versions)
    moves = alias_moves(wanted, registry.aliases(model_name))
    if moves:
        registry.move_aliases(model_name, moves)
    return wanted


class AliasNode:
    """Moves the serving aliases of the run's model (of every model, for a tick over all)."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps

    def __call__(self, state: State) -> dict[str, Any]:
        names = [state.model_name] if state.model_name else self._every_model()
        for name in names:
            try:
                deps = self.deps
                move_serving_aliases(deps.uow, deps.router, deps.registry, name)
            except Exception as exc:
                log.warning(
                    "%s: the serving aliases were not moved (next tick retries): %s", name, exc
                )
        return {}

    def _every_model(self) -> list[str]:
        try:
            with self.deps.uow() as uow:
                return list(uow.models.list_model_names())
        except Exception as exc:
            log.warning("the serving aliases were not moved (next tick retries): %s", exc)
            return []
