"""The monitor agent's graph over fakes (a real SQLite file, memory in a store): evidence rows
-> one decision per model with reasons, recorded once, audited, the run it opens and the
handoff it carries; intake refusals; the state round-trips through a strict checkpointer."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest

from agents.model_deployer.intake import IdentityMismatchError
from agents.model_monitor import InputState, State, build_graph, run_monitor
from database.models_monitor import MonitorDecisionRow
from database.monitor import MonitorRepository
from lifecycle.errors import BadInputError, UnknownModelError
from lifecycle.retraining import RunStatus, Trigger
from lifecycle.stages import DeploymentStatus, ModelStage
from memory.stores import open_checkpointer
from tests.agent_fakes import World, make_world
from tests.monitor_fakes import (
    drift_check,
    monitor_deps,
    quality_check,
    serve,
    set_policy,
    slo_breach,
)

ASK = InputState(requested_by="monitor", source="schedule")


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = make_world(tmp_path)
    serve(w.uow, "iris")
    return w


def decisions(w: World) -> list[MonitorDecisionRow]:
    with w.uow() as uow:
        return MonitorRepository(uow.session).decisions("iris")


def audit_actions(w: World) -> list[str]:
    with w.uow() as uow:
        return [e.action for e in uow.audit.list("iris")]


def test_a_quiet_model_is_recorded_once_with_its_reasons(world: World) -> None:
    drift_check(world.uow, "iris", world.clock.now())
    first = run_monitor(monitor_deps(world), ASK)
    world.clock.advance(minutes=1)
    second = run_monitor(monitor_deps(world), ASK)
    assert first["decisions"][0]["action"] == "nothing"
    assert first["decisions"][0]["reasons"] == ["no SLO judged yet; no drift in 4 features"]
    assert (first["decisions"][0]["recorded"], second["decisions"][0]["recorded"]) == (True, False)
    assert len(decisions(world)) == 1 and first["handoffs"] == []
    assert audit_actions(world) == ["monitor_all_clear"]


def test_drift_past_the_policy_opens_a_run_and_hands_it_to_the_retraining_agent(
    world: World,
) -> None:
    now = world.clock.now()
    set_policy(world.uow, now, model_name="iris", drift_features=2)
    drift_check(world.uow, "iris", now, ("sepal_length", "petal_width"))
    out = run_monitor(monitor_deps(world), ASK)
    line = out["decisions"][0]
    assert (line["action"], line["trigger"]) == ("retrain", "drift")
    run_id = line["retraining_run_id"]
    with world.uow() as uow:
        run = uow.retraining.run(run_id)
        assert run is not None and (run.status, run.trigger) == ("requested", "drift")
        assert "drift on 2 features (sepal_length, petal_width)" in run.reason
    [handoff] = out["handoffs"]
    assert handoff["to"] == "retraining" and handoff["source"] == "model_monitor"
    assert handoff["request"]["retraining_run_id"] == run_id
    assert set(handoff["request"]) == {"model_name", "trigger", "retraining_run_id", "reason"}
    assert audit_actions(world) == ["retraining_requested"]
    [episode] = world.memory.episodes("iris", "watch")
    assert episode["trigger"] == "drift" and episode["retraining_run_id"] == run_id
    assert episode["drifted"] == ["sepal_length", "petal_width"]


def test_with_a_run_active_the_next_tick_only_says_so(world: World) -> None:
    now = world.clock.now()
    set_policy(world.uow, now, model_name="iris", drift_features=1)
    drift_check(world.uow, "iris", now, ("sepal_length",))
    run_id = run_monitor(monitor_deps(world), ASK)["decisions"][0]["retraining_run_id"]
    world.clock.advance(minutes=1)
    again = run_monitor(monitor_deps(world), ASK)["decisions"][0]
    assert again["action"] == "nothing"
    assert f"already being retrained (run {run_id})" in again["reasons"]
    with world.uow() as uow:
        assert len(uow.retraining.runs("iris")) == 1


def test_an_expensive_retraining_waits_for_a_person_and_hands_nothing_over(world: World) -> None:
    now = world.clock.now()
    set_policy(world.uow, now, model_name="iris", quality_drop=0.05, expensive=True)
    quality_check(world.uow, "iris", now, observed=0.80)
    out = run_monitor(monitor_deps(world), ASK)
    line = out["decisions"][0]
    assert (line["action"], line["trigger"], line["severity"]) == ("retrain", "quality", "warning")
    assert out["handoffs"] == []
    with world.uow() as uow:
        run = uow.retraining.run(line["retraining_run_id"])
        assert run is not None and run.status == "awaiting_approval"
        approval = uow.approvals.get(line["approval_id"])
        assert (approval.action, approval.state, approval.version) == ("retrain", "pending", "1")
        payload = uow.audit.list("iris")[-1].payload
    assert payload["approval_id"] == line["approval_id"]


def test_a_sustained_breach_with_a_warm_target_asks_the_deployer_to_roll_back(
    world: World,
) -> None:
    now = world.clock.now()
    warm = serve(world.uow, "iris", "0", "iris-v0-0001", DeploymentStatus.DRAINING, now,
                 stage=ModelStage.ARCHIVED)  # fmt: skip
    slo_breach(world.uow, "iris", "iris-v1-0001", now, ticks=3)
    out = run_monitor(monitor_deps(world), ASK)
    assert out["decisions"][0]["action"] == "rollback"
    [handoff] = out["handoffs"]
    assert handoff["to"] == "model_deployer"
    assert handoff["request"]["action"] == "rollback"
    assert handoff["request"]["current_deployment_id"] == "iris-v1-0001"
    assert f"roll back to the warm {warm}" in handoff["reason"]
    with world.uow() as uow:
        [event] = uow.audit.list("iris-v1-0001")
    assert event.action == "rollback_requested"


def test_a_fresh_breach_only_alerts(world: World) -> None:
    now = world.clock.now()
    serve(world.uow, "iris", "0", "iris-v0-0001", DeploymentStatus.DRAINING, now)
    slo_breach(world.uow, "iris", "iris-v1-0001", now, ticks=1)
    out = run_monitor(monitor_deps(world), ASK)
    assert out["decisions"][0]["action"] == "alert" and out["handoffs"] == []
    assert audit_actions(world) == ["monitor_alert"]


def test_a_failed_check_is_evidence_until_the_next_check_judges(world: World) -> None:
    now = world.clock.now()
    with world.uow() as uow:
        MonitorRepository(uow.session).add_failure("iris", "drift", "scipy exploded\nbadly", now)
        uow.commit()
    out = run_monitor(monitor_deps(world), ASK)
    assert out["decisions"][0]["action"] == "alert"
    assert "the drift check failed: scipy exploded badly" in out["decisions"][0]["reasons"]
    world.clock.advance(minutes=1)
    drift_check(world.uow, "iris", world.clock.now())
    assert run_monitor(monitor_deps(world), ASK)["decisions"][0]["action"] == "nothing"


def test_the_cool_down_turns_a_new_trigger_into_an_alert(world: World) -> None:
    now = world.clock.now()
    set_policy(world.uow, now, model_name="iris", drift_features=1, cooldown_seconds=3600)
    with world.uow() as uow:
        run = uow.retraining.open_run("rt-old", "iris", Trigger.MANUAL, "ann", now)
        uow.retraining.set_status(run, RunStatus.FAILED, now)
        uow.commit()
    world.clock.advance(minutes=10)
    drift_check(world.uow, "iris", world.clock.now(), ("sepal_length",))
    line = run_monitor(monitor_deps(world), ASK)["decisions"][0]
    until = (now + timedelta(hours=1)).strftime("%H:%M")
    assert line["action"] == "alert" and f"cool-down until {until}" in line["reasons"]


@pytest.mark.parametrize(
    ("ask", "error"),
    [
        (InputState(requested_by="monitor", source="fax"), BadInputError),
        (InputState(requested_by="", source="api"), BadInputError),
        (InputState(model_name="nope", requested_by="monitor"), UnknownModelError),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    world: World, ask: InputState, error: type[Exception]
) -> None:
    with pytest.raises(error):
        run_monitor(monitor_deps(world), ask)
    assert decisions(world) == []


def test_a_bound_agent_refuses_a_request_in_another_name(world: World) -> None:
    with pytest.raises(IdentityMismatchError):
        run_monitor(monitor_deps(world, actor="ann"), InputState(requested_by="bob"))
    out = run_monitor(monitor_deps(world, actor="ann"), InputState(source="chat"))
    assert out["status"] == "decided"


def test_the_state_round_trips_through_the_strict_checkpointer(
    world: World, tmp_path: Path
) -> None:
    now = world.clock.now()
    set_policy(world.uow, now, model_name="iris", drift_features=1)
    drift_check(world.uow, "iris", now, ("sepal_length",))
    with open_checkpointer(f"sqlite:///{tmp_path / 'cp.db'}", (State,)) as saver:
        graph = build_graph(monitor_deps(world)).compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t1"}}
        graph.invoke(asdict(ASK), config)  # type: ignore[arg-type]
        restored = graph.get_state(config).values  # type: ignore[arg-type]
    assert restored["decisions"][0].decision.action.value == "retrain"
    assert restored["handoffs"][0].to.value == "retraining"


def test_a_run_another_process_opened_meanwhile_wins_and_nothing_is_recorded(
    world: World,
) -> None:
    """Two monitors decide to retrain at once: the database lets one run be active; the loser
    records nothing (its unit of work rolls back) and says why."""
    now = world.clock.now()
    set_policy(world.uow, now, model_name="iris", drift_features=1)
    drift_check(world.uow, "iris", now, ("sepal_length",))
    deps = monitor_deps(world)
    graph = build_graph(deps)
    nodes = graph.nodes["record"].runnable  # the node as built
    state = State(**asdict(ASK), models=["iris"])
    for name in ("gather", "decide"):
        update = graph.nodes[name].runnable.invoke(state)
        state = State(**{**asdict(state), **update})
    with world.uow() as uow:
        uow.retraining.open_run("rt-other", "iris", Trigger.DRIFT, "ann", now)
        uow.commit()
    out = nodes.invoke(state)
    assert out["handoffs"] == [] and out["status"] == "failed"
    assert out["errors"] == ["iris: iris is already being retrained (run rt-other, requested)"]
    assert decisions(world) == [] and audit_actions(world) == []
