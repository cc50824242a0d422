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
from collections.abc import Callable, Mapping
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


RECHECKS_PER_TICK = 10
"""How many models whose aliases were already right a tick over every model reads again from
the registry (the longest unchecked first): an alias moved by hand in MLflow is put back within
``models / RECHECKS_PER_TICK`` ticks, while a tick costs the registry a bounded number of calls
whatever the number of models."""


class AliasNode:
    """Moves the serving aliases of the run's model (of every model, for a tick over all).

    A tick over every model reads the routing tables and the deployments once, decides each
    model's aliases (``aliases_for``), and asks the registry only about the models whose wanted
    aliases differ from the ones this node last saw in place (a table changed, or a move that
    failed), plus ``RECHECKS_PER_TICK`` others in turn."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps
        self.seen: dict[str, tuple[dict[str, str | None], int]] = {}
        """model -> (the aliases the registry was found or put at, the pass that did it)."""
        self.passes = 0

    def __call__(self, state: State) -> dict[str, Any]:
        if state.model_name:
            self._put(state.model_name, None)
            return {}
        try:
            wanted = self._every_model(set(state.model_names))
        except Exception as exc:
            log.warning("the serving aliases were not moved (next tick retries): %s", exc)
            return {}
        self.passes += 1
        changed = [m for m, w in wanted.items() if self.seen.get(m, ({}, 0))[0] != w]
        settled = sorted((m for m in wanted if m not in changed), key=lambda m: self.seen[m][1])
        asked = sorted(changed) + settled[:RECHECKS_PER_TICK]
        if not asked:
            return {}
        try:  # one registry read for them all (issue 17: a tick over 1,000 models)
            current = self.deps.registry.aliases_of(asked)
        except Exception as exc:
            for name in asked:
                self.seen.pop(name, None)
            log.warning("the serving aliases were not read (next tick retries): %s", exc)
            return {}
        for name in asked:
            self._put(name, wanted[name], current.get(name, {}))
        return {}

    def _put(
        self,
        name: str,
        wanted: dict[str, str | None] | None,
        current: Mapping[str, str] | None = None,
    ) -> None:
        """Put ``name``'s aliases where ``wanted`` says, from the registry's ``current`` ones
        (both read now when ``wanted`` is None); remember them once the registry has them,
        forget them when it failed (the next tick tries again)."""
        deps = self.deps
        try:
            if wanted is None:
                wanted = dict(move_serving_aliases(deps.uow, deps.router, deps.registry, name))
            else:
                moves = alias_moves(wanted, current or {})
                if moves:
                    deps.registry.move_aliases(name, moves)
            self.seen[name] = (wanted, self.passes)
        except Exception as exc:
            self.seen.pop(name, None)
            log.warning("%s: the serving aliases were not moved (next tick retries): %s", name, exc)

    def _every_model(self, scope: set[str]) -> dict[str, dict[str, str | None]]:
        """Each registered model's wanted aliases (of ``scope``'s models, when it names any),
        from one read of each table involved."""
        with self.deps.uow() as uow:
            names = [n for n in uow.models.list_model_names() if not scope or n in scope]
        tables = self.deps.router.tables(names)
        named = {d for t in tables.values() for d in (*t.weights, t.shadow_deployment_id) if d}
        with self.deps.uow() as uow:
            versions = uow.deployments.versions(named)
        return {n: dict(aliases_for(tables.get(n), versions)) for n in names}
