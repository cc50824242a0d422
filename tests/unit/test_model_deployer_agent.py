"""``ModelDeployerAgent``: the seed's agent shape over the graph, and its thread handling."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.model_deployer import InputState, ModelDeployerAgent
from tests.agent_fakes import World, make_world
from tests.unit.model_deployer_story import MODEL, REQUESTER, Story


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def agent(world: World) -> ModelDeployerAgent:
    return ModelDeployerAgent(world.deps, checkpointer=InMemorySaver())


def test_the_agent_is_the_tier_0_ml_foundation_agent_with_a_30_second_sla(
    agent: ModelDeployerAgent,
) -> None:
    assert (agent.name, agent.tier, agent.tier_name, agent.sla_seconds) == (
        "model_deployer",
        0,
        "ml_foundation",
        30.0,
    )


async def test_execute_runs_a_request_on_the_thread_it_names_and_returns_the_final_state(
    agent: ModelDeployerAgent, world: World
) -> None:
    version = world.register()
    request = {
        "action": "promote",
        "model_name": MODEL,
        "version": version,
        "target_stage": "staging",
        "requested_by": REQUESTER,
        "thread_id": "upstream-thread-1",
    }

    result = await agent.execute(request)

    assert result["thread_id"] == "upstream-thread-1"
    assert result["status"] == "promoted"
    assert result["version_record"]["to_stage"] == "staging"
    assert result["sla_met"] is True and result["interrupts"] == []
    assert agent.snapshot("upstream-thread-1")["status"] == "promoted"


async def test_execute_takes_an_input_state_and_gives_each_request_its_own_thread(
    agent: ModelDeployerAgent, world: World
) -> None:
    version = world.register()
    ask = InputState(
        action="promote",
        model_name=MODEL,
        version=version,
        target_stage="staging",
        requested_by=REQUESTER,
    )

    first = await agent.execute(ask)
    second = await agent.execute({**asdict(ask), "target_stage": "shadow"})

    assert first["thread_id"] != second["thread_id"]
    assert first["thread_id"].startswith("model_deployer-")
    assert (first["status"], second["status"]) == ("promoted", "promoted")
    assert world.stage_of(MODEL, version) == "shadow"


async def test_a_paused_run_meets_its_sla_and_says_what_it_waits_for(
    agent: ModelDeployerAgent, world: World
) -> None:
    story = Story(world, agent)
    version = story.in_shadow()
    world.clock.advance(hours=25)
    request = {
        "action": "promote",
        "model_name": MODEL,
        "version": version,
        "target_stage": "production",
        "requested_by": REQUESTER,
    }

    result = await agent.execute(request)

    assert result["status"] == "awaiting_approval" and result["sla_met"] is True
    snapshot = agent.snapshot(result["thread_id"])
    assert snapshot["next"] == ["await_approval"]
    assert snapshot["interrupts"] == result["interrupts"]
    assert snapshot["interrupts"][0]["approval_id"] == result["approval_id"]


def test_continuing_a_finished_run_returns_its_result_again(
    agent: ModelDeployerAgent, world: World
) -> None:
    version = world.register()
    done = agent.run(
        {
            "action": "promote",
            "model_name": MODEL,
            "version": version,
            "target_stage": "staging",
            "requested_by": REQUESTER,
        }
    )

    again = agent.continue_run(done["thread_id"])

    assert again["version_record"] == done["version_record"]
    assert again["status"] == "promoted"
