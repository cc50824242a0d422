"""Which deployments a routing table may send users' traffic to: the stage rule, pure.

The invariant is *nothing unapproved reaches users*. The graph's own flows say what is approved
(``lifecycle.strategies.strategy_for``: the deploy target follows the version's stage):

- a **production** version is deployed with weight (direct, rolling, blue-green, canary); while a
  canary or blue-green takes its share the new version is already in production (promotion to
  production needs the gates and a four-eyes approval), and the stable deployment it shares with
  is the previous production version, archived only once the new one has taken everything;
- a **shadow** version is deployed as the mirror; it keeps mirroring after its version is
  promoted to production, until that version's own production deployment retires the mirror;
- a **development** or **staging** version gets an endpoint of its own and no user traffic;
- a **rollback** routes all traffic back to a production deployment kept warm (or a copy of one,
  recorded at production), whose version may by then be archived: the switch happens before the
  rollback records the version as production again.

So, with ``deployed`` the stage the deployment was made at (``ml_deployments.target_stage``) and
``version`` its version's stage now:

- a deployment with a share of the weights (> 0) must be routable (deploying, active or
  draining), deployed at **production**, and its version in **production** or **archived** (a
  version a rollback returned to development, or never promoted, serves nobody);
- the mirror (a named ``shadow_deployment_id``) must be routable, deployed at **shadow**, and its
  version in **shadow** or **production**;
- nothing else: a staging or development deployment takes neither, a shadow deployment takes no
  weight, a production deployment is never the mirror.

:func:`stage_violations` lists what breaks the rule, each with a one-line reason;
:func:`admit_routes` returns the table or raises :class:`UnapprovedRouteError` (exit 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lifecycle.errors import UnapprovedRouteError
from lifecycle.ports import Routes
from lifecycle.stages import ROUTABLE_STATUSES, DeploymentStatus, ModelStage

WEIGHT_VERSION_STAGES = frozenset({ModelStage.PRODUCTION, ModelStage.ARCHIVED})
"""Stages a version may be in while a production deployment of it takes users' weight."""

MIRROR_VERSION_STAGES = frozenset({ModelStage.SHADOW, ModelStage.PRODUCTION})
"""Stages a version may be in while a shadow deployment of it mirrors users' traffic."""


@dataclass(frozen=True, slots=True)
class RoutedDeployment:
    """A deployment as the stage rule reads it."""

    deployment_id: str
    deployed_stage: ModelStage
    """The stage its version was in when it was deployed (``target_stage``)."""
    version_stage: ModelStage
    """Its version's stage now."""
    status: DeploymentStatus


@dataclass(frozen=True, slots=True)
class RouteViolation:
    """One deployment a table may not route as it does, and why (one line)."""

    deployment_id: str
    reason: str


def _judge(
    deployment_id: str,
    found: RoutedDeployment | None,
    role: str,
    deployed: ModelStage,
    versions: frozenset[ModelStage],
) -> RouteViolation | None:
    """The violation of giving ``found`` the ``role`` (None: it may take it)."""
    if found is None:
        return RouteViolation(deployment_id, f"{deployment_id} is not a known deployment")
    if found.status not in ROUTABLE_STATUSES:
        return RouteViolation(
            deployment_id, f"{deployment_id} is {found.status.value}: it cannot take {role}"
        )
    if found.deployed_stage is not deployed:
        return RouteViolation(
            deployment_id,
            f"{deployment_id} is a {found.deployed_stage.value} deployment: only "
            f"{deployed.value} deployments take {role}",
        )
    if found.version_stage not in versions:
        return RouteViolation(
            deployment_id,
            f"the version of {deployment_id} is in {found.version_stage.value}: it cannot "
            f"take {role}",
        )
    return None


def stage_violations(
    routes: Routes, deployments: Mapping[str, RoutedDeployment]
) -> tuple[RouteViolation, ...]:
    """What in ``routes`` breaks the stage rule (see the module), in the table's order: the
    weighted deployments first, then the mirror. Empty: the table may be served."""
    found: list[RouteViolation] = []
    for deployment_id, weight in routes.weights.items():
        if weight > 0:
            violation = _judge(
                deployment_id,
                deployments.get(deployment_id),
                "users' traffic",
                ModelStage.PRODUCTION,
                WEIGHT_VERSION_STAGES,
            )
            if violation is not None:
                found.append(violation)
    mirror = routes.shadow_deployment_id
    if mirror is not None:
        violation = _judge(
            mirror, deployments.get(mirror), "the mirror", ModelStage.SHADOW, MIRROR_VERSION_STAGES
        )
        if violation is not None:
            found.append(violation)
    return tuple(found)


def admit_routes(routes: Routes, deployments: Mapping[str, RoutedDeployment]) -> Routes:
    """``routes`` if it breaks no stage rule, else :class:`UnapprovedRouteError` naming the
    first violation (and how many more)."""
    violations = stage_violations(routes, deployments)
    if not violations:
        return routes
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    raise UnapprovedRouteError(
        f"refused routing for {routes.model_name}: {violations[0].reason}{more}"
    )
