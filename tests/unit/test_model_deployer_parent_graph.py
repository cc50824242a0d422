"""The deployer's compiled graph as a subgraph node of an upstream agent's graph: its approval
pause surfaces at the parent, the parent resumes it, and what it returns flows on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agents.model_deployer import DeployerDeps, State, build_graph
from tests.agent_fakes import World, make_world
from tests.unit.model_deployer_story import APPROVER, MODEL, REQUESTER, Story


@dataclass(kw_only=True)
class PipelineState(State):
    """The upstream agents' state: the deployer's fields plus their own."""

    features: list[str] = field(default_factory=list)
    """Written by the feature analyzer."""

    observations: list[str] = field(default_factory=list)
    """Written by the observability agent, one line per deployer outcome it saw."""


@dataclass
class Pipeline:
    """A parent graph (feature_analyzer -> model_deployer -> observability), compiled."""

    graph: CompiledStateGraph[Any, Any, Any, Any]
    seen: list[PipelineState] = field(default_factory=list)
    """The states the observability node was given."""

    def invoke(self, payload: Any, thread_id: str) -> dict[str, Any]:
        return dict(self.graph.invoke(payload, config_for(thread_id)))

    def deployer_state(self, thread_id: str) -> dict[str, Any]:
        """The paused deployer subgraph's own state (the parent sees it only once it ends)."""
        parent = self.graph.get_state(config_for(thread_id), subgraphs=True)
        (task,) = [t for t in parent.tasks if t.name == "model_deployer"]
        assert task.state is not None and not isinstance(task.state, dict)
        return dict(task.state.values)


def config_for(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def build_pipeline(deps: DeployerDeps, intent: dict[str, Any]) -> Pipeline:
    """The parent graph, whose feature analyzer asks the deployer for ``intent``."""
    seen: list[PipelineState] = []

    def feature_analyzer(state: PipelineState) -> dict[str, Any]:
        return {"features": ["amount", "merchant_risk"], "requested_by": REQUESTER, **intent}

    def observability(state: PipelineState) -> dict[str, Any]:
        seen.append(state)
        line = f"{state.action} {state.model_name} v{state.version}: {state.status}"
        return {"observations": [*state.observations, line]}

    parent = StateGraph(PipelineState)
    parent.add_node("feature_analyzer", feature_analyzer)
    parent.add_node("model_deployer", build_graph(deps).compile())
    parent.add_node("observability", observability)
    parent.add_edge(START, "feature_analyzer")
    parent.add_edge("feature_analyzer", "model_deployer")
    parent.add_edge("model_deployer", "observability")
    parent.add_edge("observability", END)
    return Pipeline(parent.compile(checkpointer=InMemorySaver()), seen)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def story(world: World) -> Story:
    return Story.over(world)


@pytest.fixture
def in_shadow(story: Story) -> str:
    """A first version that has been in shadow for a day and more."""
    version = story.in_shadow()
    story.world.clock.advance(hours=25)
    return version


def promote_to_production(version: str) -> dict[str, Any]:
    return {
        "action": "promote",
        "model_name": MODEL,
        "version": version,
        "target_stage": "production",
    }


def test_the_deployers_approval_pause_surfaces_at_the_parent_and_the_parent_resumes_it(
    story: Story, in_shadow: str
) -> None:
    pipeline = build_pipeline(story.world.deps, promote_to_production(in_shadow))
    thread = uuid.uuid4().hex

    paused = pipeline.invoke({}, thread)

    (waiting,) = paused["__interrupt__"]
    (row,) = story.approvals()
    assert waiting.value["approval_id"] == row.approval_id
    assert (row.state, row.thread_id) == ("pending", thread)
    assert paused["features"] == ["amount", "merchant_risk"]
    assert pipeline.seen == []

    answer = {"approval_id": row.approval_id, "decision": "approve", "approver": APPROVER}
    done = pipeline.invoke(Command(resume=answer), thread)

    assert "__interrupt__" not in done
    (seen,) = pipeline.seen
    assert seen.status == "promoted"
    assert seen.version_record is not None
    assert (seen.version_record["to_stage"], seen.version_record["changed_by"]) == (
        "production",
        APPROVER,
    )
    assert seen.version_record["approval_id"] == row.approval_id
    assert done["observations"] == [f"promote {MODEL} v{in_shadow}: promoted"]
    assert story.world.stage_of(MODEL, in_shadow) == "production"


def test_an_approval_inside_a_parent_run_names_the_parents_namespace(
    story: Story, in_shadow: str
) -> None:
    pipeline = build_pipeline(story.world.deps, promote_to_production(in_shadow))

    pipeline.invoke({}, uuid.uuid4().hex)

    (row,) = story.approvals()
    # A non-empty namespace makes the CLI refuse to answer it (operations.decide): only the
    # parent can resume its own thread.
    assert row.checkpoint_ns
    assert row.checkpoint_ns.startswith("model_deployer")


def test_a_refused_answer_at_the_parent_keeps_the_deployer_waiting(
    story: Story, in_shadow: str
) -> None:
    pipeline = build_pipeline(story.world.deps, promote_to_production(in_shadow))
    thread = uuid.uuid4().hex
    pipeline.invoke({}, thread)
    (row,) = story.approvals()

    refused = pipeline.invoke(
        Command(
            resume={"approval_id": row.approval_id, "decision": "approve", "approver": REQUESTER}
        ),
        thread,
    )

    assert refused["__interrupt__"] and pipeline.seen == []
    assert "four-eyes" in pipeline.deployer_state(thread)["errors"][-1]
    assert story.world.stage_of(MODEL, in_shadow) == "shadow"

    answer = {"approval_id": row.approval_id, "decision": "approve", "approver": APPROVER}
    done = pipeline.invoke(Command(resume=answer), thread)

    assert [seen.status for seen in pipeline.seen] == ["promoted"]
    assert "__interrupt__" not in done


def test_a_deploy_through_the_parent_completes_without_a_pause(story: Story) -> None:
    version = story.in_production(mirrored=False)
    intent = {"action": "deploy", "model_name": MODEL, "version": version}
    pipeline = build_pipeline(story.world.deps, intent)

    done = pipeline.invoke({}, uuid.uuid4().hex)

    assert "__interrupt__" not in done
    (seen,) = pipeline.seen
    assert seen.status == "deployed"
    assert seen.deployment_manifest is not None
    assert seen.deployment_manifest["strategy"] == "direct"
    assert story.routes() is not None
    assert seen.active_deployment_id == seen.deployment_manifest["deployment_id"]
    assert done["observations"] == [f"deploy {MODEL} v{version}: deployed"]
