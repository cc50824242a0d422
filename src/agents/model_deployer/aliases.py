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
from typing import Any

from agents.model_deployer.deps import DeployerDeps
from agents.model_deployer.state import State
from lifecycle.serving_aliases import alias_moves, aliases_for

log = logging.getLogger(__name__)

NODE = "move_aliases"


def move_serving_aliases(deps: DeployerDeps, model_name: str) -> dict[str, str | None]:
    """Point ``model_name``'s serving aliases at what its routing table serves now; returns
    the aliases as they should read (raises what the router, database or registry raise)."""
    routes = deps.router.get_routes(model_name)
    with deps.uow() as uow:
        versions = {d.deployment_id: d.model_version for d in uow.deployments.list(model_name)}
    wanted = aliases_for(routes, versions)
    moves = alias_moves(wanted, deps.registry.aliases(model_name))
    if moves:
        deps.registry.move_aliases(model_name, moves)
    return wanted


class AliasNode:
    """Moves the serving aliases of the run's model (of every model, for a tick over all)."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps

    def __call__(self, state: State) -> dict[str, Any]:
        names = [state.model_name] if state.model_name else self._every_model()
        for name in names:
            try:
                move_serving_aliases(self.deps, name)
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
