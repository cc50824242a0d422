"""Traffic use cases behind ``deployer traffic``: read and set routing tables.

Tables are written to the state database (the source of truth); every running gateway serves a
change within a second. The figures are a query: ``agents.queries.traffic``.
"""

from __future__ import annotations

import logging
from typing import Any

from agents.handlers.model_lock import one_actor_per_model, routes_subject
from agents.model_deployer.aliases import move_serving_aliases
from agents.ports import Services
from lifecycle.errors import InvalidRouteError, UnknownModelError
from lifecycle.ports import Routes

log = logging.getLogger(__name__)


def parse_weights(pairs: list[str]) -> dict[str, float]:
    """``["dep_a=90", "dep_b=10"]`` -> ``{"dep_a": 90.0, "dep_b": 10.0}``, or InvalidRouteError."""
    weights: dict[str, float] = {}
    for pair in pairs:
        deployment_id, sep, value = pair.partition("=")
        if not sep or not deployment_id:
            raise InvalidRouteError(f"expected DEPLOYMENT=PERCENT, got {pair!r}")
        try:
            weights[deployment_id.strip()] = float(value)
        except ValueError:
            raise InvalidRouteError(f"{value!r} is not a percentage (in {pair!r})") from None
    return weights


def show_routes(c: Services, model_name: str) -> dict[str, Any]:
    """A model's stored table; UnknownModelError if it has none and is not registered."""
    routes = c.router.get_routes(model_name)
    if routes is None:
        with c.reader() as uow:
            if model_name not in uow.models.list_model_names():
                raise UnknownModelError(f"unknown model {model_name!r}")
        return {"model_name": model_name, "weights": {}, "routed": False}
    return {**routes.to_json(), "routed": True}


@one_actor_per_model(routes_subject)
def set_routes(
    c: Services,
    model_name: str,
    weights: dict[str, float],
    actor: str,
    shadow: str | None = None,
    shadow_percent: float = 0.0,
    stable: str | None = None,
) -> dict[str, Any]:
    """Validate and store a table (all or nothing); return it with its revision. The serving
    aliases follow it (a failed move is logged; the watcher's next tick repeats it)."""
    routes = Routes(model_name, weights, shadow, shadow_percent, stable)
    saved, revision = c.router.save(routes, actor)
    try:
        move_serving_aliases(c.uow, c.router, c.registry, model_name)
    except Exception as exc:  # the table is saved: an alias is no reason to fail the change
        log.warning("%s: serving aliases not moved (the next tick retries): %s", model_name, exc)
    return {**saved.to_json(), "revision": revision}
