"""Fakes of the agent's ports (serving, router, metrics, clock) and a deps bundle over them.

The state database is a real SQLite file (created from the mapping, which a migration test
keeps equal to Alembic's schema); everything outside the process is faked. For graph-node
unit tests only: integrations use the real adapters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from langgraph.store.memory import InMemoryStore
from sqlalchemy.orm import Session, sessionmaker

from agents.model_deployer.deps import AgentPolicy, DeployerDeps
from database.engine import make_engine
from database.models import Base, ModelVersionRow
from database.routing import checked_routes
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.approval import Role
from lifecycle.errors import EndpointCreationError
from lifecycle.gates import PromotionPolicy
from lifecycle.latency import RequestCounts, bucket_of
from lifecycle.metrics import PerformanceMetrics, ShadowStats
from lifecycle.ports import Endpoint, Routes
from lifecycle.records import model_version_id
from lifecycle.resources import InvalidResourcesError, Placement, Resources
from lifecycle.stages import ModelStage
from memory.store_memory import StoreMemory
from tests.audit_keys import keyed_factory
from tests.fakes import FakeRegistry


class FakeServing:
    """Endpoints that exist only as records; ``fail_start`` / ``fail_smoke`` make steps fail.

    Packages exist only for versions ``registry`` knows, only a built package starts, and a
    server serves the version of the package it was started from, as with the real one (the
    contract tests hold both to that).
    """

    def __init__(self, registry: FakeRegistry) -> None:
        self.registry = registry
        self.ports = itertools.count(9100)
        self.running: dict[str, Endpoint] = {}
        self.packaged: set[str] = set()
        self.serves: dict[str, str] = {}
        """deployment id -> the package tag its server was started from."""
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.fail_start = False
        self.fail_smoke = False
        self.strays: dict[str, int] = {}

    def package(self, model_name: str, version: str, actor: str) -> str:
        self.registry.get_version(model_name, version)  # UnknownModelError, as the real one
        tag = f"{model_name}_v{version}:tag"
        self.packaged.add(tag)
        return tag

    def start(self, deployment_id: str, bento_tag: str, resources: Resources) -> Endpoint:
        if resources.asks_beyond_replicas:  # as the local one; a Ray fake would take them
            raise InvalidResourcesError("a local endpoint honours --replicas only")
        if self.fail_start or bento_tag not in self.packaged:
            raise EndpointCreationError(f"the server for {bento_tag} exited with code 1")
        port = next(self.ports)
        endpoint = Endpoint(deployment_id, f"http://127.0.0.1:{port}", port, 40000 + port)
        self.running[deployment_id] = endpoint
        self.serves[deployment_id] = bento_tag
        self.started.append(deployment_id)
        return endpoint

    def resize(self, endpoint: Endpoint, bento_tag: str, resources: Resources) -> Endpoint:
        """As a local server: its workers are fixed when it starts; refused, left running."""
        raise InvalidResourcesError(
            f"a local endpoint's workers are fixed when its server starts: "
            f"{endpoint.deployment_id} keeps running as it is"
        )

    def is_alive(self, endpoint: Endpoint) -> bool:
        return self.running.get(endpoint.deployment_id) == endpoint

    def process_alive(self, endpoint: Endpoint) -> bool:
        return self.running.get(endpoint.deployment_id) == endpoint

    def placement(self, endpoint: Endpoint, wanted: int) -> Placement:
        if self.process_alive(endpoint):
            return Placement(wanted, wanted, ("fake-host",))
        return Placement(wanted, 0, (), False, "the server process is not running")

    def stop(self, endpoint: Endpoint) -> None:
        """Stop the deployment's server; an endpoint recorded without a PID names none (a server
        started but never recorded is ``stop_strays``'s), as with the real one."""
        if endpoint.pid is None:
            return
        if self.running.pop(endpoint.deployment_id, None) is not None:
            self.stopped.append(endpoint.deployment_id)

    def stop_strays(self, deployment_id: str) -> list[int]:
        """Every server carrying the deployment id goes, recorded or not (as the real one)."""
        pids = []
        running = self.running.pop(deployment_id, None)
        if running is not None and running.pid is not None:
            self.stopped.append(deployment_id)
            pids.append(running.pid)
        stray = self.strays.pop(deployment_id, None)
        return pids + ([stray] if stray is not None else [])

    def smoke(self, endpoint: Endpoint, model_name: str, version: str) -> None:
        if self.fail_smoke or not self.is_alive(endpoint):
            raise EndpointCreationError(f"smoke check: {endpoint.url}/predict answered 500")
        served = self.serves.get(endpoint.deployment_id, "")
        if served.split(":")[0] != f"{model_name}_v{version}":
            raise EndpointCreationError(
                f"smoke check: {endpoint.url} serves {served}, not {model_name} v{version}"
            )


class FakeRouter:
    """Routing tables in a dict, validated like the real ones against the state DB's records
    (``database.routing.checked_routes``: registered model, deployments in a routable status,
    the stage rule of ``lifecycle.route_stages``);
    ``fail`` makes every write fail as an unreachable gateway would."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.stored: dict[str, Routes] = {}
        self.history: list[Routes] = []
        self.session_factory = session_factory
        self.fail = False

    def set_routes(self, routes: Routes) -> None:
        if self.fail:
            raise ConnectionError("the gateway admin API is unreachable")
        with self.session_factory() as session:
            clean = checked_routes(session, routes)
        self.stored[routes.model_name] = clean
        self.history.append(clean)

    def get_routes(self, model_name: str) -> Routes | None:
        return self.stored.get(model_name)

    def tables(self, model_names: Iterable[str]) -> dict[str, Routes]:
        return {n: self.stored[n] for n in model_names if n in self.stored}


@dataclass
class FakeMetrics:
    """Figures a test counts in (``count``, ``compare``) or sets outright (``figures``,
    ``shadows``). Counted requests show in ``metrics`` too, as a gateway's window shows them."""

    figures: dict[str, PerformanceMetrics] = field(default_factory=dict)
    shadows: dict[str, ShadowStats] = field(default_factory=dict)
    totals: dict[str, RequestCounts] = field(default_factory=dict)
    clock: Callable[[], datetime] = field(default_factory=lambda: lambda: datetime.now(UTC))
    """The time a report is stored at: a gateway that keeps reporting reports "now"."""
    silent_since: datetime | None = None
    """When the gateway stopped reporting (``stop_reporting``); None while it reports."""

    def stop_reporting(self) -> None:
        """The gateway stops writing figures: its last report stays where it was."""
        self.silent_since = self.clock()

    def reported_at(self, deployment_id: str) -> datetime | None:
        return self.silent_since if self.silent_since is not None else self.clock()

    def count(self, deployment_id: str, requests: int, errors: int = 0, ms: float = 5.0) -> None:
        """Add ``requests`` (``errors`` of them failed) that took ``ms`` each to the counters."""
        now = self.totals.get(deployment_id, RequestCounts())
        histogram = dict(now.histogram)
        histogram[bucket_of(ms)] = histogram.get(bucket_of(ms), 0) + requests
        self.totals[deployment_id] = RequestCounts(
            now.requests + requests, now.errors + errors, histogram
        )

    def compare(
        self,
        shadow_id: str,
        compared: int,
        agreed: int,
        shadow_errors: int = 0,
        primary_ms: float = 5.0,
        shadow_ms: float = 5.0,
    ) -> None:
        """Add mirrored predictions (``agreed`` of ``compared`` equal) and failed mirrors, each
        one a mirrored request timed at ``primary_ms`` and ``shadow_ms``."""
        requests = compared + shadow_errors
        now = self.shadows.get(shadow_id, ShadowStats())
        self.shadows[shadow_id] = now + ShadowStats(
            compared,
            agreed,
            shadow_errors,
            {bucket_of(primary_ms): requests},
            {bucket_of(shadow_ms): requests},
        )

    def counts(self, deployment_id: str) -> RequestCounts:
        return self.totals.get(deployment_id, RequestCounts())

    def metrics(self, deployment_id: str) -> PerformanceMetrics:
        if deployment_id in self.figures:
            return self.figures[deployment_id]
        return self.counts(deployment_id).metrics()

    def shadow_stats(self, deployment_id: str) -> ShadowStats:
        return self.shadows.get(deployment_id, ShadowStats())

    def snapshot(self, deployment_ids: Iterable[str]) -> FakeMetrics:
        """Itself: a fake's figures are read in memory, and a test that changes them between
        a snapshot and its use sees the change (as the per-deployment reads would)."""
        return self


@dataclass
class FixedClock:
    """A clock the test moves by hand."""

    moment: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)

    def sleep(self, seconds: float) -> None:
        """A wait passes at once: the clock moves on by ``seconds``."""
        self.moment += timedelta(seconds=seconds)


@dataclass
class World:
    """A deps bundle over fakes and a real SQLite state database, with handles on each fake."""

    deps: DeployerDeps
    factory: sessionmaker[Session]
    registry: FakeRegistry
    serving: FakeServing
    router: FakeRouter
    metrics: FakeMetrics
    clock: FixedClock
    memory: StoreMemory

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.factory)

    def register(
        self,
        name: str = "fraud_detector",
        criteria: tuple[str, ...] = ("accuracy>=0.9",),
        accuracy: float = 0.93,
    ) -> str:
        """Register a version in the fake registry and the database; return its number."""
        version = self.registry.register(name, f"runs:/r/{name}", metrics={"accuracy": accuracy})
        with self.uow() as uow:
            uow.models.add(
                ModelVersionRow(
                    model_version_id=model_version_id(name, version.version),
                    model_name=name,
                    version=version.version,
                    stage=ModelStage.DEVELOPMENT.value,
                    metrics={"accuracy": accuracy},
                    params={},
                    success_criteria={"criteria": list(criteria)},
                    artifact_uri=version.source_uri,
                    experiment_id="0",
                )
            )
            uow.commit()
        return version.version

    def stage_of(self, name: str, version: str) -> str:
        with self.uow() as uow:
            return uow.models.get(name, version).stage


def make_world(
    tmp_path: Path, approvers: frozenset[str] = frozenset({"bob"}), url: str | None = None
) -> World:
    """Fakes over a real state database: a SQLite file in ``tmp_path``, or the one at ``url``.
    Each of ``approvers`` holds the approver role there (bindings, as an admin grants them)."""
    engine = make_engine(url or f"sqlite:///{tmp_path / 'state.db'}")
    Base.metadata.create_all(engine)
    factory = keyed_factory(engine)
    with SqlAlchemyUnitOfWork(factory) as uow:
        for user in sorted(approvers):
            uow.access.grant(user, Role.APPROVER, "test-admin")
        uow.commit()
    registry, clock = FakeRegistry(), FixedClock()
    metrics = FakeMetrics(clock=clock.now)
    serving, router = FakeServing(registry), FakeRouter(factory)
    memory = StoreMemory(InMemoryStore(), clock)
    deps = DeployerDeps(
        uow=lambda: SqlAlchemyUnitOfWork(factory),
        registry=registry,
        serving=serving,
        router=router,
        metrics=metrics,
        memory=memory,
        clock=clock,
        policy=AgentPolicy(
            promotion=PromotionPolicy(shadow_min_hours=24, min_shadow_comparisons=100),
            warm_seconds=60,
            drain_seconds=0,
        ),
    )
    return World(deps, factory, registry, serving, router, metrics, clock, memory)
