"""The RetrainingAgent's graph over fakes (a fake project runner and registry, a real SQLite
state database with captured, labelled requests): a better candidate is registered with its
lineage and label and handed to the deployer for staging and shadow, never production; a worse
one is not; too little data fails the run with the counts; every run ends with a final status,
and a resumed run repeats nothing it finished."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import select

from agents.retraining import build_graph
from agents.retraining.intake import NoProductionVersionError, NoRetrainingPolicyError
from database.models import AuditEventRow
from database.models_retraining import RetrainingRunRow
from database.retraining import RetrainingInProgressError
from lifecycle.handoff import AgentName, Handoff
from lifecycle.retraining import RunStatus, Trigger
from lifecycle.stages import ModelStage
from tests.retraining_fakes import RetrainingWorld, make_retraining_world, truth


def run(world: RetrainingWorld, **request: Any) -> dict[str, Any]:
    graph = build_graph(world.deps).compile()
    return dict(graph.invoke({"model_name": "iris", "reason": "drifted", **request}))


def actions(world: RetrainingWorld) -> list[str]:
    with world.uow() as uow:
        return list(uow.session.scalars(select(AuditEventRow.action).order_by(AuditEventRow.id)))


def the_run(world: RetrainingWorld) -> RetrainingRunRow:
    with world.uow() as uow:
        row = uow.session.scalars(select(RetrainingRunRow)).one()
        uow.session.expunge(row)
        return row


def test_a_better_candidate_is_registered_with_lineage_and_handed_over_for_staging_and_shadow(
    tmp_path: Path,
) -> None:
    world = make_retraining_world(tmp_path)  # production always answers 0
    world.capture(120)
    out = run(world)
    assert out["status"] == RunStatus.HANDED_OVER.value
    assert (out["new_version"], out["label"]) == ("2", "1.0.1")
    evaluation = out["evaluation"]
    assert evaluation["rows"] == the_run(world).evaluation["rows"] > 0
    assert evaluation["production"]["version"] == "1"
    assert evaluation["candidate"]["accuracy"] > evaluation["production"]["accuracy"]
    requests = [h.request if isinstance(h, Handoff) else h["request"] for h in out["handoffs"]]
    assert [(r["action"], r.get("target_stage"), r.get("strategy")) for r in requests] == [
        ("promote", "staging", None),
        ("promote", "shadow", None),
        ("deploy", None, "shadow"),
    ]
    assert all(r["version"] == "2" and r["model_name"] == "iris" for r in requests)
    assert all(h.to is AgentName.DEPLOYER for h in out["handoffs"])
    assert all(r.get("target_stage") != "production" for r in requests)
    row = the_run(world)
    assert (row.status, row.new_version, row.parent_version) == ("handed_over", "2", "1")
    assert row.finished_at is not None and row.active_model is None
    with world.uow() as uow:
        version = uow.models.get("iris", "2")
        assert version.stage == ModelStage.DEVELOPMENT.value
        assert version.parent_version == "1" and version.label == "1.0.1"
        assert version.lineage["trigger"] == "manual"
        assert version.lineage["retraining_run_id"] == row.id
        assert version.success_criteria["criteria"] == ["accuracy>=0.8"]
        assert version.metrics["accuracy"] == evaluation["candidate"]["accuracy"]
    tags = world.runner.tags[("iris", "2")]
    assert tags["label"] == "1.0.1" and tags["lineage.retraining_run_id"] == row.id
    assert actions(world) == [
        "retraining_started",
        "retraining_registered",
        "retraining_handed_over",
    ]


def test_a_worse_candidate_is_not_better_and_handed_to_nobody(tmp_path: Path) -> None:
    world = make_retraining_world(tmp_path, production=truth)  # production is perfect
    world.capture(120)
    with world.uow() as uow:
        policy = uow.retraining.policy("iris")
        assert policy is not None
        uow.retraining.set_policy(
            policy.model_copy(update={"params": {"C": 0.00001}}), "ann", world.clock.now()
        )
        uow.commit()
    out = run(world)
    assert out["status"] == RunStatus.NOT_BETTER.value and out["handoffs"] == []
    assert out["evaluation"]["production"]["accuracy"] == 1.0
    assert the_run(world).status == "not_better"
    assert actions(world)[-1] == "retraining_not_better"


def test_too_few_labelled_requests_fail_the_run_with_the_counts(tmp_path: Path) -> None:
    world = make_retraining_world(tmp_path)
    world.capture(10)
    world.capture(50, labelled=False)
    out = run(world)
    assert out["status"] == "failed" and out["handoffs"] == []
    assert "to train on (need 20)" in out["errors"][0]
    row = the_run(world)
    assert row.status == "failed" and row.active_model is None and "need 20" in row.error
    assert actions(world) == ["retraining_started", "retraining_failed"]
    assert world.runner.trained == []


def test_the_window_excludes_requests_older_than_the_policys(tmp_path: Path) -> None:
    world = make_retraining_world(tmp_path)
    world.capture(120, age=timedelta(days=8))  # the policy's window: 7 d
    assert run(world)["status"] == "failed"


def test_a_model_without_a_policy_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    world = make_retraining_world(tmp_path)
    with world.uow() as uow:
        uow.retraining.clear_policy("iris")
        uow.commit()
    with pytest.raises(NoRetrainingPolicyError, match="iris has no retraining policy; set one"):
        run(world)
    assert actions(world) == []
    with world.uow() as uow:
        assert uow.retraining.runs("iris") == []


def test_a_model_without_a_production_version_is_refused(tmp_path: Path) -> None:
    world = make_retraining_world(tmp_path)
    with world.uow() as uow:
        uow.models.get("iris", "1").stage = ModelStage.STAGING.value
        uow.commit()
    with pytest.raises(NoProductionVersionError):
        run(world)


def test_a_run_the_monitor_opened_is_run_and_one_that_cannot_start_is_failed(
    tmp_path: Path,
) -> None:
    world = make_retraining_world(tmp_path)
    world.capture(120)
    with world.uow() as uow:
        uow.retraining.open_run("rt-monitor-1", "iris", Trigger.DRIFT, "monitor", world.clock.now())
        uow.commit()
    with pytest.raises(RetrainingInProgressError):  # a second manual one waits its turn
        run(world)
    out = run(world, retraining_run_id="rt-monitor-1", trigger="drift")
    assert out["status"] == "handed_over"
    assert the_run(world).trigger == "drift"


def test_a_resumed_run_trains_and_registers_once(tmp_path: Path) -> None:
    world = make_retraining_world(tmp_path)
    world.capture(120)
    saver = InMemorySaver()
    first = build_graph(world.deps).compile(checkpointer=saver, interrupt_before=["evaluate"])
    config = {"configurable": {"thread_id": "t-1"}}
    first.invoke({"model_name": "iris", "reason": "drifted"}, config)  # type: ignore[arg-type]
    # as after a crash before register's checkpoint: the resumed run re-runs register
    graph = build_graph(world.deps).compile(checkpointer=saver)
    state = graph.get_state(config)  # type: ignore[arg-type]
    graph.update_state(config, state.values, as_node="train")  # type: ignore[arg-type]
    out = graph.invoke(None, config)  # type: ignore[arg-type]
    assert out["status"] == "handed_over" and out["new_version"] == "2"
    assert len(world.runner.trained) == 1
    assert sorted(world.registry.versions["iris"]) == ["1", "2"]
    assert the_run(world).id == "rt-t-1"


def test_runs_are_remembered_and_memory_says_how_runs_like_the_next_one_went(
    tmp_path: Path,
) -> None:
    world = make_retraining_world(tmp_path)
    world.capture(120)
    first = run(world, trigger="drift")
    assert "memory:" not in first["handoffs"][0].reason  # nothing to go on yet
    second = run(world, trigger="drift")
    assert second["handoffs"][0].reason.endswith(
        "memory: drift-triggered runs on 7d windows passed 1 of 1 time"
    )
    memory = world.deps.memory
    assert memory is not None
    episodes = memory.episodes("iris", "retraining")  # type: ignore[attr-defined]
    assert [(e["outcome"], e["path"], e["version"]) for e in episodes] == [
        ("succeeded", "retrain:drift:7d", "3"),
        ("succeeded", "retrain:drift:7d", "2"),
    ]


def test_a_handoff_to_production_is_refused_on_the_standalone_path() -> None:
    from agents.handlers.retraining import command_of
    from lifecycle.errors import BadInputError

    base = {"model_name": "iris", "version": "2", "reason": "r"}
    ask = Handoff(to=AgentName.DEPLOYER, request={"action": "promote", **base}, reason="r")
    with pytest.raises(BadInputError, match="never promotes to production"):
        command_of(
            ask.model_copy(update={"request": {**ask.request, "target_stage": "production"}})
        )
    shadow = command_of(
        ask.model_copy(update={"request": {**ask.request, "target_stage": "shadow"}})
    )
    assert (shadow.kind, str(shadow.target_stage)) == ("promote", "shadow")  # type: ignore[union-attr]
