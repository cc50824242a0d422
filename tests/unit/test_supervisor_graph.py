"""The system graph over stand-in agents: each request reaches the agent that owns it, the
handoffs an agent returns run in order, and the first step that fails stops the chain."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agents.supervisor import AgentResult, build_graph
from agents.supervisor.spec import state_types
from lifecycle.errors import BadInputError
from lifecycle.handoff import AgentName, Handoff
from lifecycle.supervision import MAX_STEPS
from memory.stores import strict_serde
from tests.supervisor_fakes import (
    RETRAINING_CHAIN,
    StandIn,
    asks_approval,
    by_action,
    done,
    to_deployer,
)

D, M, R = AgentName.DEPLOYER, AgentName.MONITOR, AgentName.RETRAINING


def system(*agents: StandIn) -> CompiledStateGraph[Any, Any, Any, Any]:
    specs = {a.name: a.spec() for a in agents}
    saver = InMemorySaver(serde=strict_serde(state_types(specs.values())))
    return build_graph(specs).compile(checkpointer=saver)


def run(graph: CompiledStateGraph[Any, Any, Any, Any], request: Any, thread: str = "") -> Any:
    config = {"configurable": {"thread_id": thread or uuid.uuid4().hex}}
    return graph.invoke(request, config)


def results(out: dict[str, Any]) -> list[AgentResult]:
    return [
        r if isinstance(r, AgentResult) else AgentResult.model_validate(r) for r in out["results"]
    ]


@pytest.mark.parametrize(
    ("request_", "agent"),
    [
        ({"action": "deploy", "model_name": "iris", "args": {"version": "2"}}, D),
        ({"action": "monitor", "source": "schedule"}, D),
        ({"action": "watch", "model_name": "iris", "source": "schedule"}, M),
        ({"action": "retrain", "model_name": "iris", "args": {"trigger": "manual"}}, R),
        ({"action": "chat", "source": "chat", "text": "deploy iris v2 as canary at 10%"}, D),
        ({"action": "chat", "source": "chat", "text": "rollback iris"}, D),
    ],
)
def test_each_request_runs_the_agent_that_owns_it_and_only_that_one(
    request_: dict[str, Any], agent: AgentName
) -> None:
    agents = {n: StandIn(n, done("done")) for n in (D, M, R)}
    out = run(system(*agents.values()), {"request": request_})
    assert [r.agent for r in results(out)] == [agent]
    assert out["status"] == "completed"
    assert {n: len(a.asked) for n, a in agents.items()} == {n: int(n is agent) for n in agents}


def test_chat_text_reaches_the_deployer_as_the_chats_own_grammar_reads_it() -> None:
    deployer = StandIn(D, done("deployed"))
    text = "deploy iris v2 as canary at 10% please"
    run(system(deployer), {"request": {"action": "chat", "source": "chat", "text": text}})
    (asked,) = deployer.asked
    assert (asked.action, asked.model_name, asked.version) == ("deploy", "iris", "2")
    assert (asked.strategy, asked.traffic, asked.source) == ("canary", 10.0, "chat")


def test_unclear_chat_text_is_bad_input_and_runs_nothing() -> None:
    deployer = StandIn(D, done("deployed"))
    with pytest.raises(BadInputError):
        run(system(deployer), {"request": {"action": "chat", "text": "deploy iris"}})
    assert deployer.asked == []


def test_a_retrainings_handoffs_run_in_their_order_after_it() -> None:
    retraining = StandIn(R, done("handed_off", *RETRAINING_CHAIN))
    deployer = StandIn(D, by_action({"promote": "promoted", "deploy": "deployed"}))
    out = run(
        system(retraining, deployer), {"request": {"action": "retrain", "model_name": "iris"}}
    )
    steps = results(out)
    assert [(r.agent, r.reason) for r in steps] == [
        (R, "retrain asked through upstream"),
        (D, "promote to staging"),
        (D, "promote to shadow"),
        (D, "deploy the shadow"),
    ]
    assert [(a.action, a.target_stage) for a in deployer.asked] == [
        ("promote", "staging"),
        ("promote", "shadow"),
        ("deploy", None),
    ]
    assert all(r.source is R for r in steps[1:])
    assert (out["status"], out["handoffs"], out["errors"]) == ("completed", [], [])


def test_a_refused_promotion_to_staging_deploys_no_shadow() -> None:
    retraining = StandIn(R, done("handed_off", *RETRAINING_CHAIN))
    deployer = StandIn(D, by_action({"promote:staging": "rejected"}))
    out = run(
        system(retraining, deployer), {"request": {"action": "retrain", "model_name": "iris"}}
    )
    assert [r.status for r in results(out)] == ["handed_off", "rejected"]
    assert len(deployer.asked) == 1
    assert out["status"] == "rejected"
    assert out["errors"] == ["promote:staging refused"]
    left = [Handoff.model_validate(h) if isinstance(h, dict) else h for h in out["handoffs"]]
    assert [h.reason for h in left] == ["promote to shadow", "deploy the shadow"]


def test_a_failed_step_in_the_middle_stops_the_rest() -> None:
    retraining = StandIn(R, done("handed_off", *RETRAINING_CHAIN))
    deployer = StandIn(D, by_action({"promote": "promoted", "deploy": "failed"}))
    out = run(
        system(retraining, deployer), {"request": {"action": "retrain", "model_name": "iris"}}
    )
    assert [r.status for r in results(out)] == ["handed_off", "promoted", "promoted", "failed"]
    assert out["status"] == "failed"


def test_a_monitor_asking_for_a_rollback_and_a_retraining_gets_both_in_order() -> None:
    rollback = to_deployer("the canary breached its SLO", action="rollback")
    retrain = Handoff(
        to=R, request={"model_name": "iris", "trigger": "drift"}, reason="drift", source=M
    )
    monitor = StandIn(M, done("handed_off", rollback, retrain))
    deployer = StandIn(D, done("rolled_back"))
    retraining = StandIn(R, done("trained"))
    out = run(system(monitor, deployer, retraining), {"request": {"action": "watch"}})
    assert [(r.agent, r.status) for r in results(out)] == [
        (M, "handed_off"),
        (D, "rolled_back"),
        (R, "trained"),
    ]
    assert retraining.asked[0].trigger == "drift"


def test_a_handoff_to_an_agent_the_system_lacks_ends_with_a_readable_error() -> None:
    monitor = StandIn(M, done("handed_off", Handoff(to=R, reason="drift", source=M)))
    out = run(system(monitor), {"request": {"action": "watch"}})
    assert out["status"] == "failed"
    assert out["errors"] == ["no retraining agent in this system: drift"]


def test_agents_handing_work_back_and_forth_are_stopped() -> None:
    loop = Handoff(to=D, request={"action": "monitor"}, reason="again", source=D)
    deployer = StandIn(D, done("monitored", loop))
    out = run(system(deployer), {"request": {"action": "monitor"}})
    assert len(results(out)) == MAX_STEPS
    assert out["errors"] == [f"stopped after {MAX_STEPS} steps"]


def test_an_agents_pause_surfaces_at_the_system_and_resumes_from_it() -> None:
    deployer = StandIn(D, asks_approval)
    graph, thread = system(deployer), uuid.uuid4().hex
    request = {"action": "promote", "model_name": "iris", "args": {"version": "2"}}
    paused = run(graph, {"request": request}, thread)
    (waiting,) = paused["__interrupt__"]
    assert waiting.value == {"approval_id": "apr-1", "action": "promote"}
    assert paused["results"] == []
    done_ = run(graph, Command(resume={"decision": "approve"}), thread)
    assert "__interrupt__" not in done_
    assert [r.status for r in results(done_)] == ["promoted"]
    assert done_["status"] == "completed"


def test_a_request_without_a_request_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a request"):
        run(system(StandIn(D, done("done"))), {})


def test_a_deferred_agents_handoff_is_returned_and_the_chain_goes_on() -> None:
    retrain = Handoff(to=R, request={"model_name": "iris"}, reason="drift", source=M)
    rollback = to_deployer("breach", action="rollback")
    monitor = StandIn(M, done("handed_off", retrain, rollback))
    deployer, retraining = StandIn(D, done("rolled_back")), StandIn(R, done("trained"))
    specs = {a.name: a.spec() for a in (monitor, deployer, retraining)}
    graph = build_graph(specs, deferred=(R,)).compile()
    out = graph.invoke({"request": {"action": "watch", "source": "schedule"}})
    assert [r.agent for r in results(out)] == [M, D]
    assert retraining.asked == []
    assert out["status"] == "completed"
    assert [h.reason for h in out["handoffs"]] == ["drift"]


def test_the_schedule_ticks_the_deployer_then_watches_with_the_monitor_deferring_training() -> None:
    from agents.supervisor.agent import SystemAgent

    retrain = Handoff(to=R, request={"model_name": "iris"}, reason="drift", source=M)
    deployer, monitor = StandIn(D, done("monitored")), StandIn(M, done("handed_off", retrain))
    retraining = StandIn(R, done("trained"))
    agent = SystemAgent({a.name: a.spec() for a in (deployer, monitor, retraining)})

    ticked = agent.tick(model_name="iris")
    watched = agent.watch(model_name="iris")

    assert [(r["agent"], r["status"]) for r in ticked["results"]] == [
        ("model_deployer", "monitored")
    ]
    assert [(r["agent"], r["status"]) for r in watched["results"]] == [
        ("model_monitor", "handed_off")
    ]
    assert [a.source for a in deployer.asked + monitor.asked] == ["schedule", "schedule"]
    assert [h["reason"] for h in watched["handoffs"]] == ["drift"] and retraining.asked == []
    assert ticked["handoffs"] == [] and ticked["status"] == watched["status"] == "completed"
