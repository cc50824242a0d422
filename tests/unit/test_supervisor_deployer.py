"""The system graph over the real deployer graph (on fakes, a real SQLite state database and
a real SQLite checkpointer): a promotion to production pauses at the system's caller and a
``Command(resume=...)`` on the SYSTEM thread finishes it; a chain stops at a refused step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agents.model_deployer import build_graph as deployer_graph
from agents.supervisor import deployer_spec
from agents.supervisor.agent import SystemAgent
from agents.supervisor.spec import state_types
from lifecycle.handoff import AgentName, Handoff
from lifecycle.supervision import RequestAction, RequestSource, SystemRequest
from memory.stores import open_checkpointer
from tests.agent_fakes import make_world
from tests.supervisor_fakes import StandIn, done
from tests.unit.model_deployer_story import APPROVER, MODEL, REQUESTER, Story


@pytest.fixture
def story(tmp_path: Path) -> Story:
    return Story.over(make_world(tmp_path))


def open_system(story: Story, tmp_path: Path, *more: StandIn) -> Iterator[SystemAgent]:
    agents = {AgentName.DEPLOYER: deployer_spec(deployer_graph(story.world.deps).compile())}
    agents |= {s.name: s.spec() for s in more}
    url = f"sqlite:///{tmp_path / 'checkpoints.db'}"
    with open_checkpointer(url, state_types(agents.values())) as saver:
        yield SystemAgent(agents, saver)


@pytest.fixture
def system(story: Story, tmp_path: Path) -> Iterator[SystemAgent]:
    yield from open_system(story, tmp_path)


def promote(version: str, stage: str = "production") -> SystemRequest:
    return SystemRequest(
        source=RequestSource.UPSTREAM,
        action=RequestAction.PROMOTE,
        model_name=MODEL,
        requested_by=REQUESTER,
        args={"version": version, "target_stage": stage},
    )


def test_an_approval_pause_surfaces_at_the_system_and_resumes_on_the_system_thread(
    story: Story, system: SystemAgent
) -> None:
    version = story.in_shadow()
    story.world.clock.advance(hours=25)

    paused = system.run(promote(version))

    (row,) = story.approvals()
    assert paused["status"] == "awaiting_approval"
    assert paused["interrupts"][0]["approval_id"] == row.approval_id
    # what the deployer did before it paused reaches the caller (the verdicts of the gates)
    assert paused["interrupts"][0]["verdicts"][0]["gate"] == "metric:accuracy"
    assert row.thread_id == paused["thread_id"] and row.checkpoint_ns.startswith(
        AgentName.DEPLOYER.value
    )
    snap = system.snapshot(paused["thread_id"])
    assert snap["next"] == [AgentName.DEPLOYER.value]
    assert snap["interrupts"][0]["approval_id"] == row.approval_id
    assert story.world.stage_of(MODEL, version) == "shadow"

    answer = {"approval_id": row.approval_id, "decision": "approve", "approver": APPROVER}
    finished = system.resume(paused["thread_id"], answer)

    assert finished["interrupts"] == [] and finished["status"] == "completed"
    (result,) = finished["results"]
    assert (result["agent"], result["status"]) == ("model_deployer", "promoted")
    assert result["outputs"]["version_record"]["changed_by"] == APPROVER
    assert story.world.stage_of(MODEL, version) == "production"


def test_a_rejection_at_the_system_ends_the_run_rejected(story: Story, system: SystemAgent) -> None:
    version = story.in_shadow()
    story.world.clock.advance(hours=25)
    paused = system.run(promote(version))
    (row,) = story.approvals()

    answer = {"approval_id": row.approval_id, "decision": "reject", "approver": APPROVER}
    finished = system.resume(paused["thread_id"], answer)

    assert finished["status"] == "rejected"
    assert story.world.stage_of(MODEL, version) == "shadow"


def test_a_retrainings_chain_runs_on_the_real_deployer_and_stops_at_a_refused_step(
    story: Story, tmp_path: Path
) -> None:
    version = story.world.register()
    chain = [
        Handoff(
            to=AgentName.DEPLOYER,
            request={
                "action": "promote",
                "model_name": MODEL,
                "version": version,
                "target_stage": stage,
                "requested_by": REQUESTER,
            },
            reason=f"promote to {stage}",
            source=AgentName.RETRAINING,
        )
        for stage in ("staging", "production", "shadow")  # staging -> production skips shadow
    ]
    retraining = StandIn(AgentName.RETRAINING, done("handed_off", *chain))
    request = {"action": "retrain", "model_name": MODEL, "requested_by": REQUESTER}
    with contextmanager(open_system)(story, tmp_path, retraining) as system:
        out = system.run(request)

    statuses = [(r["agent"], r["status"]) for r in out["results"]]
    assert statuses == [
        ("retraining", "handed_off"),
        ("model_deployer", "promoted"),
        ("model_deployer", "refused"),
    ]
    assert out["status"] == "refused" and "production" in out["errors"][0]
    assert [h["reason"] for h in out["handoffs"]] == ["promote to shadow"]
    assert story.world.stage_of(MODEL, version) == "staging"


def test_a_scheduled_tick_runs_the_deployers_health_tick_through_the_supervisor(
    story: Story, system: SystemAgent
) -> None:
    story.in_production(mirrored=False)

    out = system.tick(model_name=MODEL)

    assert [(r["agent"], r["status"]) for r in out["results"]] == [("model_deployer", "monitored")]
    assert out["results"][0]["request"]["source"] == "schedule"
    assert out["monitor"] is not None and "tick_id" in out["monitor"]
