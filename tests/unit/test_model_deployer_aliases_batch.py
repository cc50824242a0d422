"""The tick's ``move_aliases`` over every model asks the registry a bounded number of times
(issue 17 item 6: a tick over 1,000 models): only about the models whose wanted aliases differ
from the ones it last saw in place, plus ``RECHECKS_PER_TICK`` others in turn, so a move that
failed is retried and an alias moved by hand in the registry is put back; and it asks about
them all in one read (``aliases_of``), never one per model."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.model_deployer.aliases import RECHECKS_PER_TICK, AliasNode
from agents.model_deployer.state import State
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.ports import Routes
from lifecycle.stages import DeploymentStatus, ModelStage
from tests.agent_fakes import World, make_world
from tests.integration.db_helpers import add_version, deployment_row

MODELS = [f"m{i:02d}" for i in range(25)]


@dataclasses.dataclass
class CountingRegistry:
    """The registry's alias half, counting the reads; ``down`` makes every call fail."""

    table: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    reads: list[str] = dataclasses.field(default_factory=list)
    calls: int = 0
    down: bool = False

    def aliases(self, model_name: str) -> Mapping[str, str]:
        raise AssertionError("a tick over every model reads the aliases in one call")

    def aliases_of(self, model_names: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        self.calls += 1
        self.reads.extend(model_names)
        if self.down:
            raise ConnectionError("the registry is unreachable")
        return {m: dict(self.table[m]) for m in model_names if m in self.table}

    def move_aliases(self, model_name: str, moves: Mapping[str, str | None]) -> None:
        aliases = self.table.setdefault(model_name, {})
        for alias, version in moves.items():
            if version is None:
                aliases.pop(alias, None)
            else:
                aliases[alias] = version


def routed_world(tmp_path: Path) -> tuple[World, CountingRegistry, AliasNode]:
    world = make_world(tmp_path)
    for model in MODELS:
        add_version(world.factory, model, "1", ModelStage.PRODUCTION)
    with SqlAlchemyUnitOfWork(world.factory) as uow:
        for model in MODELS:
            row = deployment_row(
                f"{model}-d1",
                DeploymentStatus.ACTIVE,
                model,
                "1",
                "http://x",
                ModelStage.PRODUCTION,
            )
            uow.deployments.add(row)
        uow.commit()
    for model in MODELS:
        world.router.set_routes(Routes(model, {f"{model}-d1": 100}))
    registry = CountingRegistry()
    deps: Any = dataclasses.replace(world.deps, registry=registry)
    return world, registry, AliasNode(deps)


def tick(node: AliasNode) -> None:
    node(State(run_id="tick", action="monitor", model_name=""))


def test_the_first_tick_puts_every_models_aliases_in_place(tmp_path: Path) -> None:
    _, registry, node = routed_world(tmp_path)
    tick(node)
    assert sorted(registry.reads) == MODELS
    assert registry.calls == 1
    assert all(registry.table[m] == {"champion": "1"} for m in MODELS)


def test_a_tick_where_nothing_changed_asks_the_registry_about_a_bounded_few(
    tmp_path: Path,
) -> None:
    _, registry, node = routed_world(tmp_path)
    tick(node)
    registry.reads.clear()
    tick(node)
    assert len(registry.reads) == RECHECKS_PER_TICK < len(MODELS)
    assert registry.calls == 2


def test_a_changed_table_moves_that_models_aliases_at_the_next_tick(tmp_path: Path) -> None:
    world, registry, node = routed_world(tmp_path)
    tick(node)
    add_version(world.factory, "m07", "2", ModelStage.PRODUCTION)
    with SqlAlchemyUnitOfWork(world.factory) as uow:
        row = deployment_row(
            "m07-d2", DeploymentStatus.ACTIVE, "m07", "2", "http://x", ModelStage.PRODUCTION
        )
        uow.deployments.add(row)
        uow.commit()
    world.router.set_routes(
        Routes("m07", {"m07-d1": 90, "m07-d2": 10}, stable_deployment_id="m07-d1")
    )
    registry.reads.clear()
    tick(node)
    assert "m07" in registry.reads
    assert registry.table["m07"] == {"champion": "1", "challenger": "2"}


def test_a_failed_move_is_retried_and_a_hand_moved_alias_is_put_back_in_turn(
    tmp_path: Path,
) -> None:
    _, registry, node = routed_world(tmp_path)
    registry.down = True
    tick(node)
    registry.down = False
    tick(node)  # every model failed: every one is asked again
    assert all(registry.table[m] == {"champion": "1"} for m in MODELS)
    registry.table["m03"]["champion"] = "9"  # moved by hand in the registry
    for _ in range(-(-len(MODELS) // RECHECKS_PER_TICK)):
        tick(node)
    assert registry.table["m03"] == {"champion": "1"}
