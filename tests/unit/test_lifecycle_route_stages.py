"""The stage rule of routing tables, pinned exactly: users' weight only to production
deployments of production (or archived) versions, the mirror only to shadow deployments of
shadow (or since promoted) versions, each refusal with its sentence."""

from __future__ import annotations

import pytest

from lifecycle.errors import RefusedError, UnapprovedRouteError
from lifecycle.ports import Routes
from lifecycle.route_stages import (
    MIRROR_VERSION_STAGES,
    WEIGHT_VERSION_STAGES,
    RoutedDeployment,
    RouteViolation,
    admit_routes,
    stage_violations,
)
from lifecycle.stages import DeploymentStatus, ModelStage

S, D = ModelStage, DeploymentStatus


def dep(
    deployment_id: str,
    deployed: ModelStage,
    version: ModelStage | None = None,
    status: DeploymentStatus = D.ACTIVE,
) -> RoutedDeployment:
    return RoutedDeployment(deployment_id, deployed, version or deployed, status)


KNOWN = {
    d.deployment_id: d
    for d in (
        dep("prod", S.PRODUCTION),
        dep("prod2", S.PRODUCTION, status=D.DEPLOYING),
        dep("warm", S.PRODUCTION, S.ARCHIVED, D.DRAINING),
        dep("demoted", S.PRODUCTION, S.DEVELOPMENT),
        dep("dev", S.DEVELOPMENT),
        dep("staging", S.STAGING),
        dep("shadow", S.SHADOW),
        dep("promoted-shadow", S.SHADOW, S.PRODUCTION),
        dep("archived-shadow", S.SHADOW, S.ARCHIVED),
        dep("gone", S.PRODUCTION, status=D.ROLLED_BACK),
        dep("failed", S.SHADOW, status=D.FAILED),
        dep("pending", S.PRODUCTION, status=D.PENDING),
    )
}


def test_the_version_stages_each_role_admits() -> None:
    assert {S.PRODUCTION, S.ARCHIVED} == WEIGHT_VERSION_STAGES
    assert {S.SHADOW, S.PRODUCTION} == MIRROR_VERSION_STAGES


ADMITTED = {
    "a production deployment takes all": Routes("m", {"prod": 100}),
    "a canary splits two production deployments": Routes(
        "m", {"prod": 90, "prod2": 10}, stable_deployment_id="prod"
    ),
    "a rollback goes back to a warm deployment of an archived version": Routes("m", {"warm": 100}),
    "a shadow deployment mirrors": Routes("m", {"prod": 100}, "shadow", 50),
    "a shadow whose version was promoted since still mirrors": Routes(
        "m", {"prod": 100}, "promoted-shadow", 100
    ),
    "a zero weight names anything": Routes("m", {"prod": 100, "dev": 0, "nobody": 0}),
}


@pytest.mark.parametrize("routes", ADMITTED.values(), ids=ADMITTED.keys())
def test_tables_an_approved_flow_writes_are_admitted(routes: Routes) -> None:
    assert stage_violations(routes, KNOWN) == ()
    assert admit_routes(routes, KNOWN) is routes


REFUSED = {
    "a development deployment given weight": (
        Routes("m", {"dev": 100}),
        [
            (
                "dev",
                "dev is a development deployment: only production deployments take users' traffic",
            )
        ],
    ),
    "a development deployment given half a percent": (
        Routes("m", {"prod": 99.5, "dev": 0.5}),
        [
            (
                "dev",
                "dev is a development deployment: only production deployments take users' traffic",
            )
        ],
    ),
    "a staging deployment given weight": (
        Routes("m", {"prod": 50, "staging": 50}),
        [
            (
                "staging",
                "staging is a staging deployment: only production deployments take users' traffic",
            )
        ],
    ),
    "a shadow deployment given weight": (
        Routes("m", {"shadow": 100}),
        [
            (
                "shadow",
                "shadow is a shadow deployment: only production deployments take users' traffic",
            )
        ],
    ),
    "a production deployment whose version went back to development": (
        Routes("m", {"demoted": 100}),
        [("demoted", "the version of demoted is in development: it cannot take users' traffic")],
    ),
    "a rolled-back deployment given weight": (
        Routes("m", {"gone": 100}),
        [("gone", "gone is rolled_back: it cannot take users' traffic")],
    ),
    "a pending deployment given weight": (
        Routes("m", {"pending": 100}),
        [("pending", "pending is pending: it cannot take users' traffic")],
    ),
    "an unknown deployment given weight": (
        Routes("m", {"nobody": 100}),
        [("nobody", "nobody is not a known deployment")],
    ),
    "a staging deployment as the mirror": (
        Routes("m", {"prod": 100}, "staging", 10),
        [("staging", "staging is a staging deployment: only shadow deployments take the mirror")],
    ),
    "a development deployment as the mirror at 0%": (
        Routes("m", {"prod": 100}, "dev", 0),
        [("dev", "dev is a development deployment: only shadow deployments take the mirror")],
    ),
    "a production deployment as the mirror": (
        Routes("m", {"prod": 100}, "prod2", 100),
        [("prod2", "prod2 is a production deployment: only shadow deployments take the mirror")],
    ),
    "a shadow deployment of an archived version as the mirror": (
        Routes("m", {"prod": 100}, "archived-shadow", 100),
        [
            (
                "archived-shadow",
                "the version of archived-shadow is in archived: it cannot take the mirror",
            )
        ],
    ),
    "a failed shadow as the mirror": (
        Routes("m", {"prod": 100}, "failed", 100),
        [("failed", "failed is failed: it cannot take the mirror")],
    ),
    "an unknown mirror": (
        Routes("m", {"prod": 100}, "nobody", 100),
        [("nobody", "nobody is not a known deployment")],
    ),
    "every violation, weights first in the table's order, then the mirror": (
        Routes("m", {"staging": 50, "prod": 25, "dev": 25}, "prod2", 10),
        [
            (
                "staging",
                "staging is a staging deployment: only production deployments take users' traffic",
            ),
            (
                "dev",
                "dev is a development deployment: only production deployments take users' traffic",
            ),
            ("prod2", "prod2 is a production deployment: only shadow deployments take the mirror"),
        ],
    ),
}


@pytest.mark.parametrize(("routes", "expected"), REFUSED.values(), ids=REFUSED.keys())
def test_tables_that_give_an_unapproved_stage_traffic_are_refused(
    routes: Routes, expected: list[tuple[str, str]]
) -> None:
    assert stage_violations(routes, KNOWN) == tuple(RouteViolation(*v) for v in expected)
    with pytest.raises(UnapprovedRouteError) as raised:
        admit_routes(routes, KNOWN)
    more = f" (and {len(expected) - 1} more)" if len(expected) > 1 else ""
    assert str(raised.value) == f"refused routing for m: {expected[0][1]}{more}"


def test_a_refused_table_is_a_refusal_with_exit_code_3() -> None:
    with pytest.raises(UnapprovedRouteError) as raised:
        admit_routes(Routes("m", {"dev": 100}), KNOWN)
    assert isinstance(raised.value, RefusedError)
    assert raised.value.exit_code == 3
    assert "\n" not in str(raised.value)


def test_two_violations_say_one_more() -> None:
    with pytest.raises(UnapprovedRouteError) as raised:
        admit_routes(Routes("m", {"dev": 50, "staging": 50}), KNOWN)
    assert str(raised.value) == (
        "refused routing for m: dev is a development deployment: only production deployments "
        "take users' traffic (and 1 more)"
    )
