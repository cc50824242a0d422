"""A tick over many open rollouts (issue 17 item 6): its reads are batched, so the state DB's
round trips of one tick do not grow with the rollouts, every rollout is still judged and
recorded one by one, and the batched reads return exactly what the per-rollout reads do.

On the real state DB (SQLite and PostgreSQL), the real router and metrics source over it, and
the local serving's real liveness check of real processes (``bench/scale_world.py`` seeds rows
as a deploy leaves them, one ``sleep`` process per endpoint, stopped by PID). The registry is
the fake: the aliases' registry calls are not the state DB's round trips.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.memory import InMemoryStore
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from agents.bootstrap import Container, bootstrap
from agents.commands import Tick
from agents.entrypoints import watch
from agents.model_deployer.agent import ModelDeployerAgent
from agents.model_deployer.deps import AgentPolicy, DeployerDeps
from agents.model_deployer.views import open_rollout_of
from agents.settings import Settings
from agents.supervisor.agent import SystemAgent
from database import leases, locks
from database.models import HealthCheckRow, RolloutRow
from database.models_safety import ModelLockRow
from database.routing import DbMetricsSource, DbRouter
from database.services import DbPackageLedger
from database.tick_reads import DeploymentFacts
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.monitor import OPEN_PHASES
from lifecycle.ports import ModelRegistry
from lifecycle.stages import LIVE_STATUSES
from memory.store_memory import StoreMemory
from mlops.endpoints_local import LocalEndpointManager
from mlops.serving_local import LocalServing
from tests.agent_fakes import FixedClock
from tests.fakes import FakeRegistry
from tests.integration.db_helpers import migrated_factory
from tests.schema_template import migrated

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from scale_world import World, report_figures, seed, stop_endpoints

FIELDS = [f.name for f in dataclasses.fields(DeploymentFacts)]


class Counted:
    """The statements an engine sends while counting."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self.seen)

    def seen(self, *_: object) -> None:
        self.count += 1


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], World]]:
    factory = migrated_factory(database_url)
    world = World()
    try:
        yield factory, world
    finally:
        stop_endpoints(world.pids)
        factory.kw["bind"].dispose()


def agent_over(factory: sessionmaker[Session], home: Path) -> ModelDeployerAgent:
    """The deployer over the real state DB, router, metrics source and liveness check."""
    clock = FixedClock()
    endpoints = LocalEndpointManager(home, home / "logs")
    uow = lambda: SqlAlchemyUnitOfWork(factory)  # noqa: E731
    serving = LocalServing(
        lambda: pytest.fail("no registry"),  # type: ignore[arg-type,return-value]
        lambda: pytest.fail("no packager"),  # type: ignore[arg-type,return-value]
        endpoints,
        home,
        DbPackageLedger(uow),
    )
    deps = DeployerDeps(
        uow=uow,
        registry=FakeRegistry(),
        serving=serving,
        router=DbRouter(factory),
        metrics=DbMetricsSource(factory),
        memory=StoreMemory(InMemoryStore(), clock),
        clock=clock,
        policy=AgentPolicy(),
    )
    return ModelDeployerAgent(deps)


def register(registry: ModelRegistry, models: list[str]) -> None:
    """The models' two versions in the (fake) registry, as registration leaves them."""
    for model in models:
        for _ in range(2):
            registry.register(model, f"models:/{model}")


def counted_tick(agent: ModelDeployerAgent, engine: Engine) -> tuple[int, list[dict[str, object]]]:
    """A tick a second after the last (so each rollout's message changes), counted."""
    agent.deps.clock.advance(seconds=1)  # type: ignore[attr-defined]
    counter = Counted(engine)
    try:
        out = agent.tick("monitor")
    finally:
        event.remove(engine, "before_cursor_execute", counter.seen)
    return counter.count, list((out.get("monitor") or {}).get("checks", []))


def test_a_ticks_round_trips_do_not_grow_with_the_open_rollouts(
    world: tuple[sessionmaker[Session], World], tmp_path: Path
) -> None:
    factory, seeded = world
    home = tmp_path / "bentoml"
    engine = factory.kw["bind"]
    seed(factory, 3, home, world=seeded)
    agent = agent_over(factory, home)
    register(agent.deps.registry, seeded.models)
    agent.tick("monitor")  # the first tick of a model also checks its aliases
    few, checks_of_few = counted_tick(agent, engine)
    seed(factory, 27, home, start=3, world=seeded)
    register(agent.deps.registry, seeded.models[3:])
    agent.tick("monitor")
    many, checks_of_many = counted_tick(agent, engine)
    assert [c["deployment_id"] for c in checks_of_few] == seeded.rollouts[:3]
    assert sorted(str(c["deployment_id"]) for c in checks_of_many) == sorted(seeded.rollouts)
    assert {c["action"] for c in checks_of_many} == {"wait"}  # judged on figures, held
    assert many == few, f"{few} round trips at 3 rollouts, {many} at 30"
    with factory() as session:  # every rollout's judgement recorded, one row each per tick
        rows = session.scalars(
            select(HealthCheckRow.deployment_id, func.count()).group_by(
                HealthCheckRow.deployment_id
            )
        )
        counts = dict(
            session.execute(
                select(HealthCheckRow.deployment_id, func.count()).group_by(
                    HealthCheckRow.deployment_id
                )
            ).all()
        )
        del rows
    with SqlAlchemyUnitOfWork(factory) as uow:  # and each rollout says what it was told last
        said = {d: r.last_message for d, r in uow.rollouts.find_many(seeded.rollouts).items()}
    assert said == {str(c["deployment_id"]): c["message"] for c in checks_of_many}
    assert set(counts) == set(seeded.rollouts)
    assert all(counts[d] == 4 for d in seeded.rollouts[:3])
    assert all(counts[d] == 2 for d in seeded.rollouts[3:])


def test_the_batched_reads_return_what_each_read_alone_returns(
    world: tuple[sessionmaker[Session], World], tmp_path: Path
) -> None:
    factory, seeded = world
    seed(factory, 4, tmp_path / "bentoml", world=seeded)
    ids = [*seeded.rollouts, *seeded.stable.values(), "no-such-deployment"]
    with SqlAlchemyUnitOfWork(factory) as uow:
        many = uow.deployments.get_many(ids)
        rollouts = uow.rollouts.find_many(ids)
        versions = uow.deployments.versions(ids)
        live = uow.deployments.model_names(LIVE_STATUSES)
        listed = uow.deployments.list(statuses=LIVE_STATUSES)
    assert versions == {d: row.model_version for d, row in many.items()}
    assert live == sorted({row.model_name for row in listed}) == sorted(seeded.models)
    for deployment_id in ids:
        with SqlAlchemyUnitOfWork(factory) as uow:
            alone = uow.session.get(type(next(iter(many.values()))), deployment_id)
            found = uow.rollouts.find(deployment_id)
            assert (deployment_id in many) == (alone is not None)
            if alone is not None:
                assert many[deployment_id].endpoint() == alone.endpoint()
                assert many[deployment_id].status == alone.status
            assert (deployment_id in rollouts) == (found is not None)
            if found is not None:
                assert rollouts[deployment_id].marks == found.marks
                assert (
                    rollouts[deployment_id].baseline_deployment_id == found.baseline_deployment_id
                )
    assert set(rollouts) == set(seeded.rollouts)
    with SqlAlchemyUnitOfWork(factory) as uow:  # the tick's column reads: what the rows say
        rows = uow.deployments.list()
        facts = uow.deployments.facts()
        marks = uow.deployments.change_marks(ids)
        said = uow.rollouts.last_messages(ids)
        open_rows = uow.rollouts.in_phases(OPEN_PHASES)
        open_read = uow.rollouts.read_in_phases(OPEN_PHASES)
        assert [f.deployment_id for f in facts] == [r.deployment_id for r in rows]
        for fact, row in zip(facts, rows, strict=True):
            assert fact.endpoint() == row.endpoint()
            assert fact == DeploymentFacts(**{k: getattr(row, k) for k in FIELDS})
        assert marks == {r.deployment_id: (r.changing_run_id, r.changing_since) for r in rows
                         if r.deployment_id in ids}  # fmt: skip
        assert said == {d: r.last_message for d, r in rollouts.items()}
        assert [open_rollout_of(r) for r in open_read] == [open_rollout_of(r) for r in open_rows]
    router = DbRouter(factory)
    tables = router.tables([*seeded.models, "unrouted"])
    assert tables == {m: router.get_routes(m) for m in seeded.models}


# -- deployer watch's whole tick ---------------------------------------------------------------


@pytest.fixture
def watched(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, World]]:
    """The watcher's container over the real state DB (the registry swapped for the fake: its
    calls are not the state DB's round trips), and the seeded world's processes stopped."""
    settings = Settings(
        DEPLOYER_HOME=str(tmp_path / "home"),
        DEPLOYER_DATABASE_URL=database_url,
        DEPLOYER_USER="alice",
    )
    settings.ensure_home()
    migrated(database_url)
    c = bootstrap(settings)
    c.__dict__["registry"] = FakeRegistry()
    world = World()
    try:
        yield c, world
    finally:
        stop_endpoints(world.pids)
        c.close()


def watcher_tick(
    c: Container, agent: SystemAgent, fence: leases.Fence, world: World
) -> tuple[int, dict[str, Any]]:
    """One ``deployer watch`` tick (not the first: no audit or drift check is due), counted,
    after the gateways' flush (not counted)."""
    report_figures(c.session_factory, world)
    with c.session_factory() as session:  # each rollout's message is new: one update says it
        session.execute(update(RolloutRow).values(last_message=""))
        session.commit()
    counter = Counted(c.engine)
    try:
        out = watch.fenced_tick(c, agent, Tick(), fence, 600.0, 1)
    finally:
        event.remove(c.engine, "before_cursor_execute", counter.seen)
    return counter.count, out


def test_a_watcher_ticks_round_trips_do_not_grow_with_the_models_and_a_held_one_is_skipped(
    watched: tuple[Container, World],
) -> None:
    c, world = watched
    fence = watch.fence_writes(c, "watcher-a")
    fence.token = leases.acquire(c.session_factory, watch.LEASE_NAME, "watcher-a", 600).fence
    seed(c.session_factory, 3, c.settings.bentoml_home, world=world)
    register(c.registry, world.models)
    with c.open_system() as agent:
        watcher_tick(c, agent, fence, world)  # the first tick of a model checks its aliases
        few, of_few = watcher_tick(c, agent, fence, world)
        seed(c.session_factory, 27, c.settings.bentoml_home, start=3, world=world)
        register(c.registry, world.models[3:])
        watcher_tick(c, agent, fence, world)
        many, of_many = watcher_tick(c, agent, fence, world)
        bob = world.models[7]
        assert locks.try_acquire(c.session_factory, bob, "deploy by bob", 60).held
        _, with_bob = watcher_tick(c, agent, fence, world)

    assert few > 0 and many == few, f"{few} round trips at 3 models, {many} at 30"
    assert sorted(str(ch["deployment_id"]) for ch in of_few["checks"]) == world.rollouts[:3]
    assert sorted(str(ch["deployment_id"]) for ch in of_many["checks"]) == sorted(world.rollouts)
    assert {ch["action"] for ch in of_many["checks"]} == {"wait"}
    assert of_many["status"] == "ticked" and "decisions" in of_many
    skipped = [ch for ch in with_bob["checks"] if ch["action"] == "skipped"]
    assert [(ch["model_name"], "deploy by bob" in ch["message"]) for ch in skipped] == [(bob, True)]
    judged = {ch["model_name"] for ch in with_bob["checks"] if ch["action"] != "skipped"}
    assert judged == set(world.models) - {bob}
    with c.reader() as uow:  # the watcher gave back every lock it took, and left bob's alone
        held = uow.session.execute(select(ModelLockRow.model_name, ModelLockRow.holder)).all()
    assert [(m, h) for m, h in held if h] == [(bob, "deploy by bob")]
