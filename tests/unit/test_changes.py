"""A change to the outside world runs between two commits: the deployments it touches are
marked first (committed), the effect runs outside any transaction, and the outcome is recorded
with the marks cleared. A re-run after a crash marks again under the same run, repeats the
idempotent effect and clears the marks; another run's fresh mark is refused, a stale one is not.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from agents.keyed_steps import already_done
from agents.model_deployer.changes import change, left_alone, mark, stop_servers
from database.protocols import UnitOfWork
from lifecycle.errors import ConflictError
from lifecycle.resources import Resources
from lifecycle.stages import DeploymentStatus
from tests.agent_fakes import World, make_world
from tests.integration.db_helpers import deployment_row

MODEL = "fraud_detector"
DEP = "fraud_detector-v1-abc"


class Crash(Exception):
    """The process dies between the effect and the record."""


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    version = world.register(MODEL)
    tag = world.serving.package(MODEL, version, "alice")
    endpoint = world.serving.start(DEP, tag, Resources())
    with world.uow() as uow:
        row = deployment_row(DEP, DeploymentStatus.ACTIVE, MODEL, version)
        row.serve_from(endpoint)
        uow.deployments.add(row)
        uow.commit()
    return world


def marked_by(world: World) -> str | None:
    with world.uow() as uow:
        return uow.deployments.get(DEP).changing_run_id


def test_the_mark_is_committed_before_the_effect_and_cleared_with_the_outcome(
    world: World,
) -> None:
    seen: list[str | None] = []

    def effect() -> None:
        seen.append(marked_by(world))  # what another actor reads while the server stops
        stop_servers(world.deps, [DEP])

    def record(uow: UnitOfWork) -> dict[str, Any]:
        uow.deployments.get(DEP).status = "rolled_back"
        return {"done": True}

    result = change(world.deps, "run-1", "retire", [DEP, None], effect, record)

    assert result == {"done": True}
    assert seen == ["run-1"]
    assert DEP not in world.serving.running and world.serving.stopped == [DEP]
    assert marked_by(world) is None
    assert already_done(world.deps, "run-1", "retire") == {"done": True}


def test_a_rerun_after_the_record_neither_marks_nor_acts_again(world: World) -> None:
    calls: list[str] = []
    change(world.deps, "run-1", "retire", [DEP], lambda: calls.append("effect"), lambda u: {})

    again = change(world.deps, "run-1", "retire", [DEP], lambda: calls.append("effect"), dict)

    assert (again, calls, marked_by(world)) == ({}, ["effect"], None)


def test_a_crash_after_the_effect_leaves_the_mark_and_the_resume_clears_it(world: World) -> None:
    def crash(uow: UnitOfWork) -> dict[str, Any]:
        raise Crash

    with pytest.raises(Crash):
        change(world.deps, "run-1", "retire", [DEP], lambda: None, crash)
    assert marked_by(world) == "run-1"
    with world.uow() as uow:
        assert left_alone(world.deps, uow.deployments.get(DEP))

    effects: list[str] = []
    change(world.deps, "run-1", "retire", [DEP], lambda: effects.append("again"), lambda u: {})

    assert effects == ["again"] and marked_by(world) is None


def test_another_runs_fresh_mark_is_refused_and_nothing_is_done(world: World) -> None:
    mark(world.deps, "deploy-run", [DEP])
    effects: list[str] = []

    with pytest.raises(ConflictError, match="deploy-run"):
        change(world.deps, "tick-1", "stop_mirror", [DEP], lambda: effects.append("x"), dict)

    assert effects == [] and marked_by(world) == "deploy-run"
    assert already_done(world.deps, "tick-1", "stop_mirror") is None


def test_a_stale_mark_of_a_crashed_run_no_longer_keeps_anyone_away(world: World) -> None:
    world.deps.policy = dataclasses.replace(world.deps.policy, change_mark_seconds=60)
    mark(world.deps, "crashed-run", [DEP])
    world.clock.advance(seconds=61)
    with world.uow() as uow:
        assert not left_alone(world.deps, uow.deployments.get(DEP))

    change(world.deps, "tick-1", "stop_mirror", [DEP], lambda: None, lambda u: {})

    assert marked_by(world) is None
