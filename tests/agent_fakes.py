"""Fakes of the agent's ports (serving, router, metrics, clock) and a deps bundle over them.

The state database is a real SQLite file (created from the mapping, which a migration test
keeps equal to Alembic's schema); everything outside the process is faked. For graph-node
unit tests only: integrations use the real adapters.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from langgraph.store.memory import InMemoryStore
from sqlalchemy.orm import Session, sessionmaker

from agents.model_deployer.deps import AgentPolicy, DeployerDeps
from database.engine import make_engine, make_session_factory
from database.models import Base, ModelVersionRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import EndpointCreationError
from lifecycle.gates import PromotionPolicy
from lifecycle.latency import RequestCounts, bucket_of
from lifecycle.metrics import PerformanceMetrics, ShadowStats
from lifecycle.ports import Endpoint, Routes
from lifecycle.records import model_version_id
from lifecycle.routing import validate_routes
from lifecycle.stages import ModelStage
from memory.store_memory import StoreMemory
from tests.fakes import FakeRegistry


class FakeServing:
    """Endpoints that exist only as records; ``fail_start`` / ``fail_smoke`` make steps fail."""

    def __init__(self) -> None:
        self.ports = itertools.count(9100)
        self.running: dict[str, Endpoint] = {}
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.fail_start = False
        self.fail_smoke = False
        self.strays: dict[str, int] = {}

    def package(self, model_name: str, version: str, actor: str) -> str:
        return f"{model_name}_v{version}:tag"

    def start(self, deployment_id: str, bento_tag: str, replicas: int) -> Endpoint:
        if self.fail_start:
            raise EndpointCreationError(f"the server for {bento_tag} exited with code 1")
        port = next(self.ports)
        endpoint = Endpoint(deployment_id, f"http://127.0.0.1:{port}", port, 40000 + port)
        self.running[deployment_id] = endpoint
        self.started.append(deployment_id)
        return endpoint

    def is_alive(self, endpoint: Endpoint) -> bool:
        return self.running.get(endpoint.deployment_id) == endpoint

    def process_alive(self, endpoint: Endpoint) -> bool:
        return self.running.get(endpoint.deployment_id) == endpoint

    def stop(self, endpoint: Endpoint) -> None:
        if self.running.pop(endpoint.deployment_id, None) is not None:
            self.stopped.append(endpoint.deployment_id)

    def stop_strays(self, deployment_id: str) -> list[int]:
        pid = self.strays.pop(deployment_id, None)
        return [pid] if pid is not None else []

    def smoke(self, endpoint: Endpoint, model_name: str, version: str) -> None:
        if self.fail_smoke:
            raise EndpointCreationError(f"smoke check: {endpoint.url}/predict answered 500")


class FakeRouter:
    """Routing tables in a dict, validated like the real ones against ``serving``'s servers."""

    def __init__(self, serving: FakeServing, model_of: dict[str, str]) -> None:
        self.tables: dict[str, Routes] = {}
        self.history: list[Routes] = []
        self.serving = serving
        self.model_of = model_of
        self.fail = False

    def set_routes(self, routes: Routes) -> None:
        if self.fail:
            raise ConnectionError("the gateway admin API is unreachable")
        known = {d: self.model_of.get(d, d.split("-v")[0]) for d in self.serving.running}
        clean = validate_routes(routes, known)
        self.tables[routes.model_name] = clean
        self.history.append(clean)

    def get_routes(self, model_name: str) -> Routes | None:
        return self.tables.get(model_name)


@dataclass
class FakeMetrics:
    """Figures set by the test."""

    figures: dict[str, PerformanceMetrics] = field(default_factory=dict)
    shadows: dict[str, ShadowStats] = field(default_factory=dict)
    totals: dict[str, RequestCounts] = field(default_factory=dict)

    def count(self, deployment_id: str, requests: int, errors: int = 0, ms: float = 5.0) -> None:
        """Add ``requests`` (``errors`` of them failed) that took ``ms`` each to the counters."""
        now = self.totals.get(deployment_id, RequestCounts())
        histogram = dict(now.histogram)
        histogram[bucket_of(ms)] = histogram.get(bucket_of(ms), 0) + requests
        self.totals[deployment_id] = RequestCounts(
            now.requests + requests, now.errors + errors, histogram
        )

    def counts(self, deployment_id: str) -> RequestCounts:
        return self.totals.get(deployment_id, RequestCounts())

    def metrics(self, deployment_id: str) -> PerformanceMetrics:
        return self.figures.get(deployment_id, PerformanceMetrics())

    def shadow_stats(self, deployment_id: str) -> ShadowStats:
        return self.shadows.get(deployment_id, ShadowStats())


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


def make_world(tmp_path: Path, approvers: frozenset[str] = frozenset({"bob"})) -> World:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    registry, serving, metrics, clock = FakeRegistry(), FakeServing(), FakeMetrics(), FixedClock()
    router = FakeRouter(serving, {})
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
            approvers=approvers,
            warm_seconds=60,
            drain_seconds=0,
        ),
    )
    return World(deps, factory, registry, serving, router, metrics, clock, memory)
