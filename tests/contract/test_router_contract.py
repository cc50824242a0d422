"""The router port (``lifecycle.ports.Router``): the fake and every real router pass the same tests.

Sides: ``FakeRouter`` (tables in a dict, the node tests' router), ``DbRouter`` on a real SQLite
file and on a real PostgreSQL, and ``ConfirmingRouter`` (the agent's router: ``DbRouter`` plus
waiting for this home's running gateways; here none run, so it confirms at once).

What a table may name is decided by the state DB's records, on every side. The fake used to
check the fake serving's running servers while ``DbRouter`` checked deployment statuses; the
records are what the promise needs: every gateway replica and every host reads the same records
(a process check sees one machine), a deployment recorded failed or rolled back was judged
failing or retired and must never get users back even while its server still runs, and a
server that dies under an active record is the monitor's to notice and roll back. From the fake
we kept what it got right: a route needs a server, so a ``pending`` deployment (recorded, its
server not started yet) is refused too; ``DbRouter`` accepted it. Both sides now call
``database.routing.checked_routes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from database.routing import DbRouter
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import InvalidRouteError, UnapprovedRouteError, UnknownModelError
from lifecycle.ports import Router, Routes
from lifecycle.stages import DeploymentStatus, ModelStage
from mlops.gateway.router_client import ConfirmingRouter
from tests.agent_fakes import FakeRouter
from tests.integration.db_helpers import add_version, deployment_row, migrated_factory

MODEL, OTHER = "iris", "churn"

DEPLOYMENTS = {
    "d1": (MODEL, DeploymentStatus.ACTIVE),
    "d2": (MODEL, DeploymentStatus.ACTIVE),
    "deploying": (MODEL, DeploymentStatus.DEPLOYING),
    "draining": (MODEL, DeploymentStatus.DRAINING),
    "pending": (MODEL, DeploymentStatus.PENDING),
    "failed": (MODEL, DeploymentStatus.FAILED),
    "rolled_back": (MODEL, DeploymentStatus.ROLLED_BACK),
    "o1": (OTHER, DeploymentStatus.ACTIVE),
    "mirror": (MODEL, DeploymentStatus.DEPLOYING),
    "dev": (MODEL, DeploymentStatus.ACTIVE),
    "staging": (MODEL, DeploymentStatus.ACTIVE),
}
MIRRORS = {"mirror"}
UNAPPROVED = {"dev": ModelStage.DEVELOPMENT, "staging": ModelStage.STAGING}
"""Deployments of v2 of MODEL made in (and still in) development and staging: an endpoint of
their own, no users' traffic and no mirror."""
"""Deployments made at shadow (the only ones that take the mirror); the rest are production
deployments of production versions (the only ones that take weight)."""


@dataclass
class Side:
    router: Router
    factory: sessionmaker[Session]


def _records(url: str) -> sessionmaker[Session]:
    """A migrated state DB with two models and deployments in every status."""
    factory = migrated_factory(url)
    add_version(factory, MODEL, "1", ModelStage.PRODUCTION)
    add_version(factory, OTHER, "1", ModelStage.PRODUCTION)
    add_version(factory, "unrouted", "1")
    add_version(factory, MODEL, "2")
    with SqlAlchemyUnitOfWork(factory) as uow:
        for deployment_id, (model, status) in DEPLOYMENTS.items():
            endpoint = None if status is DeploymentStatus.PENDING else f"http://127.0.0.1/{model}"
            stage = ModelStage.SHADOW if deployment_id in MIRRORS else ModelStage.PRODUCTION
            stage = UNAPPROVED.get(deployment_id, stage)
            version = "2" if deployment_id in UNAPPROVED else "1"
            row = deployment_row(deployment_id, status, model, version, endpoint, stage)
            uow.deployments.add(row)
        uow.commit()
    return factory


@pytest.fixture(
    params=[
        "fake",
        "db-sqlite",
        pytest.param("db-postgres", marks=pytest.mark.postgres),
        "confirming-sqlite",
    ]
)
def side(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Side]:
    kind = str(request.param)
    url = str(request.getfixturevalue("postgres_url" if "postgres" in kind else "sqlite_url"))
    factory = _records(url)
    router: Router
    if kind == "fake":
        router = FakeRouter(factory)
    elif kind.startswith("confirming"):
        router = ConfirmingRouter(DbRouter(factory, "tester"), tmp_path / "gateways", "t", 1.0)
    else:
        router = DbRouter(factory, "tester")
    yield Side(router, factory)
    factory.kw["bind"].dispose()


def test_a_stored_table_reads_back_without_its_zero_weights(side: Side) -> None:
    side.router.set_routes(Routes(MODEL, {"d1": 90, "d2": 10, "draining": 0}, "mirror", 5))
    assert side.router.get_routes(MODEL) == Routes(
        MODEL, {"d1": 90.0, "d2": 10.0}, "mirror", 5.0, None
    )


def test_a_model_without_a_table_has_no_routes(side: Side) -> None:
    side.router.set_routes(Routes(MODEL, {"d1": 100}))
    assert side.router.get_routes("unrouted") is None
    assert side.router.get_routes("never_registered") is None


def test_a_table_for_an_unknown_model_is_refused_as_unknown_and_nothing_is_stored(
    side: Side,
) -> None:
    with pytest.raises(UnknownModelError):
        side.router.set_routes(Routes("never_registered", {"d1": 100}))
    assert side.router.get_routes("never_registered") is None


@pytest.mark.parametrize("status", ["deploying", "active", "draining"])
def test_a_deployment_recorded_with_a_server_may_take_traffic(side: Side, status: str) -> None:
    deployment_id = {"active": "d2"}.get(status, status)
    side.router.set_routes(Routes(MODEL, {"d1": 50, deployment_id: 50}, stable_deployment_id="d1"))
    routes = side.router.get_routes(MODEL)
    assert routes is not None and routes.weights == {"d1": 50.0, deployment_id: 50.0}


@pytest.mark.parametrize(
    "routes",
    [
        pytest.param(Routes(MODEL, {"d1": 50, "failed": 50}), id="a-failed-deployment"),
        pytest.param(Routes(MODEL, {"d1": 50, "rolled_back": 50}), id="a-rolled-back-deployment"),
        pytest.param(Routes(MODEL, {"d1": 50, "pending": 50}), id="a-pending-deployment"),
        pytest.param(Routes(MODEL, {"d1": 50, "ghost": 50}), id="an-unknown-deployment"),
        pytest.param(Routes(MODEL, {"d1": 50, "o1": 50}), id="another-models-deployment"),
        pytest.param(Routes(MODEL, {"d1": 100}, "rolled_back", 10), id="a-dead-shadow"),
        pytest.param(Routes(MODEL, {"d1": 100}, stable_deployment_id="failed"), id="dead-stable"),
        pytest.param(Routes(MODEL, {"d1": 70, "d2": 20}), id="weights-not-summing-to-100"),
        pytest.param(Routes(MODEL, {}), id="no-deployment"),
        pytest.param(Routes(MODEL, {"d1": 100}, "d1", 10), id="live-and-shadow-at-once"),
    ],
)
def test_a_bad_table_is_refused_and_the_stored_one_stays(side: Side, routes: Routes) -> None:
    side.router.set_routes(Routes(MODEL, {"d1": 100}))
    before = side.router.get_routes(MODEL)
    with pytest.raises(InvalidRouteError):
        side.router.set_routes(routes)
    assert side.router.get_routes(MODEL) == before


def test_a_deployment_that_failed_after_it_was_routed_cannot_be_routed_again(side: Side) -> None:
    side.router.set_routes(Routes(MODEL, {"d1": 50, "d2": 50}))
    with SqlAlchemyUnitOfWork(side.factory) as uow:
        uow.deployments.get("d2").status = DeploymentStatus.FAILED.value
        uow.commit()
    with pytest.raises(InvalidRouteError):
        side.router.set_routes(Routes(MODEL, {"d1": 50, "d2": 50}))
    side.router.set_routes(Routes(MODEL, {"d1": 100}))
    assert side.router.get_routes(MODEL) == Routes(MODEL, {"d1": 100.0})


def test_setting_the_same_table_twice_changes_nothing(side: Side) -> None:
    table = Routes(MODEL, {"d1": 80, "d2": 20}, stable_deployment_id="d1")
    side.router.set_routes(table)
    first = side.router.get_routes(MODEL)
    side.router.set_routes(table)
    assert side.router.get_routes(MODEL) == first


def test_each_model_has_its_own_table(side: Side) -> None:
    side.router.set_routes(Routes(MODEL, {"d1": 100}))
    side.router.set_routes(Routes(OTHER, {"o1": 100}))
    side.router.set_routes(Routes(MODEL, {"d2": 100}))
    assert side.router.get_routes(OTHER) == Routes(OTHER, {"o1": 100.0})
    assert side.router.get_routes(MODEL) == Routes(MODEL, {"d2": 100.0})


@pytest.mark.parametrize(
    "routes",
    [
        pytest.param(Routes(MODEL, {"dev": 100}), id="a-development-deployment-takes-all"),
        pytest.param(Routes(MODEL, {"d1": 90, "staging": 10}), id="a-staging-canary"),
        pytest.param(Routes(MODEL, {"d1": 100}, "staging", 10), id="a-staging-mirror"),
        pytest.param(Routes(MODEL, {"d1": 100}, "d2", 10), id="a-production-mirror"),
        pytest.param(Routes(MODEL, {"mirror": 100}), id="a-shadow-takes-weight"),
    ],
)
def test_a_table_the_stage_rule_refuses_is_refused_on_every_side_and_nothing_is_stored(
    side: Side, routes: Routes
) -> None:
    side.router.set_routes(Routes(MODEL, {"d1": 100}))
    with pytest.raises(UnapprovedRouteError):
        side.router.set_routes(routes)
    assert side.router.get_routes(MODEL) == Routes(MODEL, {"d1": 100.0})


def test_the_tables_of_many_models_read_at_once_are_what_each_reads_alone(side: Side) -> None:
    side.router.set_routes(Routes(MODEL, {"d1": 80, "d2": 20}, "mirror", 5, "d1"))
    side.router.set_routes(Routes(OTHER, {"o1": 100}))
    names = [MODEL, OTHER, "unrouted", "never_registered"]
    tables = side.router.tables(names)
    assert tables == {MODEL: side.router.get_routes(MODEL), OTHER: side.router.get_routes(OTHER)}
    assert side.router.tables([]) == {}
