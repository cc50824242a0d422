"""Routing tables as values: validation, the stable deployment, and weight shifts.

A routing table (:class:`lifecycle.ports.Routes`) gives each deployment of one model a share of
the traffic in percent. The rules here are the ones the gateway's admin API and the agent both
enforce, so a table that passes :func:`validate_routes` is one the gateway can serve.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from lifecycle.errors import InvalidRouteError
from lifecycle.ports import Routes

WEIGHT_TOLERANCE = 1e-6
"""How far from 100 the sum of the weights may be (floating-point slack, not a policy)."""


def validate_routes(routes: Routes, known_deployments: Mapping[str, str]) -> Routes:
    """Return ``routes`` with zero weights dropped, or raise :class:`InvalidRouteError`.

    ``known_deployments`` maps each deployment id the table may name to its model's name.
    """
    if not routes.model_name:
        raise InvalidRouteError("a routing table needs a model name")
    if not routes.weights:
        raise InvalidRouteError(f"the routing table of {routes.model_name} names no deployment")
    for deployment_id, weight in routes.weights.items():
        if not isinstance(weight, int | float) or isinstance(weight, bool):
            raise InvalidRouteError(f"the weight of {deployment_id} is not a number: {weight!r}")
        if not math.isfinite(weight) or not 0 <= weight <= 100:
            raise InvalidRouteError(
                f"the weight of {deployment_id} must be between 0 and 100, not {weight}"
            )
    total = sum(routes.weights.values())
    if abs(total - 100) > WEIGHT_TOLERANCE:
        raise InvalidRouteError(
            f"the weights of {routes.model_name} sum to {total:g}, not 100: {dict(routes.weights)}"
        )
    named = list(routes.weights)
    if routes.shadow_deployment_id is not None:
        named.append(routes.shadow_deployment_id)
    if routes.stable_deployment_id is not None:
        named.append(routes.stable_deployment_id)
    for deployment_id in named:
        owner = known_deployments.get(deployment_id)
        if owner is None:
            raise InvalidRouteError(f"unknown deployment {deployment_id!r}")
        if owner != routes.model_name:
            raise InvalidRouteError(
                f"deployment {deployment_id} serves {owner}, not {routes.model_name}"
            )
    percent = routes.shadow_percent
    if not math.isfinite(percent) or not 0 <= percent <= 100:
        raise InvalidRouteError(f"the shadow percentage must be between 0 and 100, not {percent}")
    if percent > 0 and routes.shadow_deployment_id is None:
        raise InvalidRouteError("a shadow percentage was given without a shadow deployment")
    shadow = routes.shadow_deployment_id
    if shadow is not None and routes.weights.get(shadow, 0) > 0:
        raise InvalidRouteError(
            f"deployment {shadow} cannot both take live traffic and be the shadow"
        )
    weights = {d: float(w) for d, w in routes.weights.items() if w > 0}
    stable = routes.stable_deployment_id
    if stable is not None and stable not in weights:
        raise InvalidRouteError(f"the stable deployment {stable} takes no traffic")
    return Routes(
        model_name=routes.model_name,
        weights=weights,
        shadow_deployment_id=shadow,
        shadow_percent=float(percent) if shadow is not None else 0.0,
        stable_deployment_id=stable,
    )


def stable_of(routes: Routes) -> str:
    """The deployment that failed requests are retried on: the named one, else the heaviest."""
    if routes.stable_deployment_id is not None:
        return routes.stable_deployment_id
    # Ties go to the first named, so the choice does not depend on dict hashing.
    return max(routes.weights, key=lambda d: routes.weights[d])


def single(model_name: str, deployment_id: str) -> Routes:
    """All traffic to one deployment, which is then the stable one."""
    return Routes(model_name, {deployment_id: 100.0}, stable_deployment_id=deployment_id)


def split(model_name: str, stable: str, candidate: str, candidate_percent: float) -> Routes:
    """``candidate_percent`` to ``candidate`` and the rest to ``stable`` (the retry target)."""
    percent = min(100.0, max(0.0, float(candidate_percent)))
    weights = {stable: 100.0 - percent, candidate: percent}
    if percent >= 100:
        return single(model_name, candidate)
    return Routes(model_name, weights, stable_deployment_id=stable)


def with_shadow_of(routes: Routes, previous: Routes | None, exclude: set[str]) -> Routes:
    """``routes`` keeping the previous table's mirror, unless the mirror is in ``exclude``."""
    if previous is None or previous.shadow_deployment_id in (None, *exclude):
        return routes
    return Routes(
        routes.model_name,
        routes.weights,
        previous.shadow_deployment_id,
        previous.shadow_percent,
        routes.stable_deployment_id,
    )


def without_mirror(routes: Routes) -> Routes:
    """``routes`` with its mirror stopped (the weights and the stable deployment unchanged)."""
    return Routes(routes.model_name, routes.weights, None, 0.0, routes.stable_deployment_id)


def gradual(model_name: str, stable: str, candidate: str, step_percent: float) -> Iterator[Routes]:
    """The tables of a gradual switch: ``step_percent`` more to ``candidate`` each time, to 100."""
    if not math.isfinite(step_percent) or step_percent <= 0 or step_percent > 100:
        raise InvalidRouteError(f"a switch step must be in (0, 100], not {step_percent}")
    percent = 0.0
    while percent < 100:
        percent = min(100.0, percent + step_percent)
        yield split(model_name, stable, candidate, percent)
