"""The promote flow: one legal step at a time; production passes every gate and waits for a
person's approval (four eyes), and the move is written once, with who approved it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.model_deployer import InputState, State, build_graph
from agents.model_deployer.promote import PromoteNodes
from lifecycle.errors import (
    ConflictError,
    InvalidPromotionPathError,
    ProductionCriteriaNotMetError,
)
from lifecycle.metrics import ShadowStats
from memory import episodes
from tests.agent_fakes import World, make_world
from tests.unit.model_deployer_story import APPROVER, MODEL, REQUESTER, Story, run_once


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def story(world: World) -> Story:
    return Story.over(world)


@pytest.fixture
def paused(story: Story) -> dict[str, Any]:
    """A first version, 25 h in shadow, whose move to production waits for an approval."""
    version = story.in_shadow()
    story.world.clock.advance(hours=25)
    result = story.promote(version, "production", reason="beats v0")
    assert result["status"] == "awaiting_approval", result["errors"]
    return result


# -- the transition table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reached", "target"),
    [
        ([], "production"),
        ([], "shadow"),
        ([], "archived"),
        ([], "development"),
        (["staging"], "production"),
        (["staging", "shadow"], "archived"),
    ],
)
def test_a_move_outside_the_transition_table_is_refused_and_changes_nothing(
    story: Story, reached: list[str], target: str
) -> None:
    version = story.world.register()
    for stage in reached:
        story.promote(version, stage)
    before = story.footprint()

    with pytest.raises(InvalidPromotionPathError, match="cannot move a version"):
        story.promote(version, target)

    assert story.footprint() == before
    assert story.approvals() == []


@pytest.mark.parametrize("reached", [["staging"], ["staging", "shadow"]])
def test_a_move_before_production_goes_through_without_an_approval(
    story: Story, reached: list[str]
) -> None:
    version = story.world.register()

    for stage in reached:
        result = story.promote(version, stage, reason="offline checks pass")

    assert result["status"] == "promoted" and result["interrupts"] == []
    record = result["version_record"]
    assert (record["to_stage"], record["changed_by"], record["approval_id"]) == (
        reached[-1],
        REQUESTER,
        None,
    )
    assert record["reason"] == "offline checks pass"
    assert story.world.stage_of(MODEL, version) == story.registry_stage(version) == reached[-1]
    assert story.approvals() == []


def test_a_successful_promotion_is_remembered_as_a_succeeded_promotion_episode(
    story: Story,
) -> None:
    version = story.world.register()
    story.promote(version, "staging")

    episode = story.world.memory.last_episode(MODEL, episodes.PROMOTION)

    assert episode is not None
    assert (episode["from_stage"], episode["to_stage"], episode["outcome"]) == (
        "development",
        "staging",
        episodes.SUCCEEDED,
    )


# -- production gates ---------------------------------------------------------------------------


def _low_accuracy(story: Story) -> str:
    return story.in_shadow(accuracy=0.85)


def _no_criteria(story: Story) -> str:
    return story.in_shadow(criteria=())


def _metric_never_recorded(story: Story) -> str:
    return story.in_shadow(criteria=("accuracy>=0.9", "precision>=0.8"))


def _second_version_never_mirrored(story: Story) -> str:
    story.serving()
    return story.in_shadow()


def _mirrored_with(stats: ShadowStats) -> Callable[[Story], str]:
    def given(story: Story) -> str:
        story.serving()
        version, shadow = story.shadow_deployed()
        story.world.metrics.shadows[shadow] = stats
        return version

    return given


@pytest.mark.parametrize(
    ("given", "hours_in_shadow", "unmet"),
    [
        pytest.param(_low_accuracy, 25, "accuracy=0.85 misses", id="metric-low"),
        pytest.param(_no_criteria, 25, "no success criteria are set", id="no-criteria"),
        pytest.param(
            _metric_never_recorded, 25, "precision was never recorded", id="metric-missing"
        ),
        pytest.param(Story.in_shadow, 23, "required", id="shadow-too-young"),
        pytest.param(
            _mirrored_with(ShadowStats(compared=200, agreed=150)),
            25,
            "75.0% is below",
            id="agreement-low",
        ),
        pytest.param(
            _mirrored_with(ShadowStats(compared=50, agreed=50)),
            25,
            "shadow comparisons",
            id="too-few-comparisons",
        ),
        pytest.param(
            _second_version_never_mirrored, 25, "never mirrored", id="second-version-not-mirrored"
        ),
    ],
)
def test_production_is_refused_until_every_gate_passes_and_the_error_lists_what_is_unmet(
    story: Story, given: Callable[[Story], str], hours_in_shadow: float, unmet: str
) -> None:
    version = given(story)
    story.world.clock.advance(hours=hours_in_shadow)
    before = story.footprint()

    with pytest.raises(ProductionCriteriaNotMetError) as refused:
        story.promote(version, "production")

    assert [reason for reason in refused.value.unmet if unmet in reason], refused.value.unmet
    assert refused.value.exit_code == 3
    assert story.footprint() == before
    assert story.world.stage_of(MODEL, version) == story.registry_stage(version) == "shadow"


def test_every_unmet_criterion_is_listed_at_once(story: Story) -> None:
    version = story.in_shadow(accuracy=0.5)

    with pytest.raises(ProductionCriteriaNotMetError) as refused:
        story.promote(version, "production")

    gates = " | ".join(refused.value.unmet)
    assert "accuracy=0.5 misses" in gates and "required" in gates
    assert len(refused.value.unmet) == 2


def test_a_refused_promotion_is_remembered_as_a_refused_promotion_episode(story: Story) -> None:
    version = story.in_shadow(accuracy=0.5)
    story.world.clock.advance(hours=25)

    with pytest.raises(ProductionCriteriaNotMetError) as refused:
        story.promote(version, "production", reason="try anyway")

    episode = story.world.memory.last_episode(MODEL, episodes.PROMOTION)
    assert episode is not None
    assert (episode["to_stage"], episode["outcome"]) == ("production", episodes.REFUSED)
    assert episode["reasons"] == refused.value.unmet
    assert episode["reason"] == "try anyway"


def test_the_gates_can_be_asked_without_running_the_graph(story: Story) -> None:
    version = story.in_shadow()
    story.world.clock.advance(hours=25)
    state = State(
        model_name=MODEL, version=version, target_stage="production", requested_by=REQUESTER
    )

    checked = PromoteNodes(story.world.deps).check(state)

    assert checked["from_stage"] == "shadow"
    assert {v["gate"]: v["status"] for v in checked["verdicts"]} == {
        "metric:accuracy": "passed",
        "shadow_age": "passed",
        "shadow_agreement": "passed",
    }


# -- approval -------------------------------------------------------------------------------------


def test_production_pauses_for_an_approval_recorded_with_its_thread(
    story: Story, paused: dict[str, Any]
) -> None:
    (waiting,) = paused["interrupts"]
    (row,) = story.approvals()

    assert waiting["approval_id"] == paused["approval_id"] == row.approval_id
    assert waiting["requested_by"] == REQUESTER and waiting["reason"] == "beats v0"
    assert all(v["status"] == "passed" for v in waiting["verdicts"])
    assert (row.state, row.thread_id, row.run_id) == (
        "pending",
        paused["thread_id"],
        paused["run_id"],
    )
    assert (row.target_stage, row.requested_by) == ("production", REQUESTER)
    assert story.world.stage_of(MODEL, "1") == story.registry_stage("1") == "shadow"
    assert story.agent.snapshot(paused["thread_id"])["next"] == ["await_approval"]


def test_a_top_level_run_records_no_checkpoint_namespace_so_the_cli_may_answer_it(
    story: Story, paused: dict[str, Any]
) -> None:
    (row,) = story.approvals()

    assert not row.checkpoint_ns


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        pytest.param(
            {"decision": "approve", "approver": REQUESTER}, "four-eyes", id="self-approval"
        ),
        pytest.param(
            {"decision": "approve", "approver": "carol"},
            "does not hold the approver role",
            id="not-an-approver",
        ),
        pytest.param(
            {"decision": "reject", "approver": "carol"},
            "does not hold the approver role",
            id="stranger-rejects",
        ),
        pytest.param({"decision": "approve", "approver": ""}, "must name who", id="no-approver"),
        pytest.param({"decision": "maybe", "approver": APPROVER}, "refused", id="bad-decision"),
        pytest.param(
            {"decision": "approve", "approver": APPROVER, "stage": "x"},
            "refused",
            id="unknown-field",
        ),
    ],
)
def test_an_answer_that_breaks_the_rules_is_refused_and_the_run_keeps_waiting(
    story: Story, paused: dict[str, Any], answer: dict[str, Any], problem: str
) -> None:
    refused = story.agent.resume(
        paused["thread_id"], {"approval_id": paused["approval_id"], **answer}
    )

    assert refused["status"] == "awaiting_approval"
    assert refused["interrupts"][0]["approval_id"] == paused["approval_id"]
    assert refused["errors"][-1].startswith("approval refused:")
    assert problem in refused["errors"][-1]
    (row,) = story.approvals()
    assert row.state == "pending" and row.approver is None
    assert story.world.stage_of(MODEL, "1") == story.registry_stage("1") == "shadow"

    approved = story.answer(paused)

    assert approved["status"] == "promoted"


def test_a_malformed_answer_is_refused_with_the_field_that_is_wrong(
    story: Story, paused: dict[str, Any]
) -> None:
    answer = {"approval_id": paused["approval_id"], "decision": "maybe", "approver": APPROVER}
    refused = story.agent.resume(paused["thread_id"], answer)

    assert "decision" in refused["errors"][-1]


def test_an_approval_moves_registry_and_database_and_records_the_approver(
    story: Story, paused: dict[str, Any]
) -> None:
    result = story.answer(paused, comment="looks good")

    assert result["status"] == "promoted" and result["interrupts"] == []
    record = result["version_record"]
    assert (record["from_stage"], record["to_stage"]) == ("shadow", "production")
    assert (record["changed_by"], record["approval_id"]) == (APPROVER, paused["approval_id"])
    assert story.world.stage_of(MODEL, "1") == story.registry_stage("1") == "production"
    with story.world.uow() as uow:
        stored = uow.version_records.list_for(MODEL, "1")[-1]
        actions = [e.action for e in uow.audit.list()]
    assert (stored.changed_by, stored.approval_id) == (APPROVER, paused["approval_id"])
    (row,) = story.approvals()
    assert (row.state, row.approver, row.comment) == ("approved", APPROVER, "looks good")
    assert row.decided_at is not None
    assert actions[-2:] == ["approval_approved", "stage_changed"]


def test_a_rejection_leaves_the_stage_and_records_who_rejected_and_why(
    story: Story, paused: dict[str, Any]
) -> None:
    records = story.version_record_count("1")

    result = story.answer(paused, "reject", comment="wait for the holiday data")

    assert result["status"] == "rejected"
    assert result["errors"] == [f"rejected by {APPROVER}: wait for the holiday data"]
    assert result["version_record"] is None
    assert story.world.stage_of(MODEL, "1") == story.registry_stage("1") == "shadow"
    assert story.version_record_count("1") == records
    (row,) = story.approvals()
    assert (row.state, row.approver) == ("rejected", APPROVER)
    episode = story.world.memory.last_episode(MODEL, episodes.APPROVAL)
    assert episode is not None and episode["outcome"] == episodes.REFUSED


def test_the_requester_may_withdraw_their_own_request(story: Story, paused: dict[str, Any]) -> None:
    result = story.answer(paused, "reject", approver=REQUESTER)

    assert result["status"] == "rejected"
    (row,) = story.approvals()
    assert (row.state, row.approver) == ("rejected", REQUESTER)
    assert story.world.stage_of(MODEL, "1") == "shadow"


def test_answering_a_finished_run_again_writes_nothing_more(
    story: Story, paused: dict[str, Any]
) -> None:
    first = story.answer(paused)
    before = story.footprint()

    again = story.answer(paused)
    taken_up = story.agent.continue_run(paused["thread_id"])

    assert again["version_record"] == taken_up["version_record"] == first["version_record"]
    assert story.footprint() == before


# -- idempotency ------------------------------------------------------------------------------


def test_applying_a_promotion_twice_in_one_run_writes_once(story: Story) -> None:
    world = story.world
    version = world.register()
    compiled = build_graph(world.deps).compile(checkpointer=InMemorySaver())
    request = InputState(
        action="promote",
        model_name=MODEL,
        version=version,
        target_stage="staging",
        requested_by=REQUESTER,
    )
    done, state = run_once(compiled, request)
    before, operations = story.footprint(), story.operation_count(state.run_id)

    again = compiled.nodes["apply_promotion"].invoke(state)

    assert again["version_record"] == done["version_record"]
    assert story.footprint() == before
    assert story.operation_count(state.run_id) == operations
    assert len(world.memory.episodes(MODEL, episodes.PROMOTION)) == 1


def test_the_registry_is_put_back_when_the_database_refuses_the_promotion(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = story.world.register()

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise ConflictError("this record was changed by someone else at the same time")

    monkeypatch.setattr("agents.model_deployer.promote.record_stage_change", refused)
    with pytest.raises(ConflictError):
        story.promote(version, "staging")

    assert story.world.stage_of(MODEL, version) == story.registry_stage(version) == "development"
    assert story.version_record_count(version) == 0


def test_an_answer_to_another_approval_is_refused_and_changes_nothing(
    story: Story, paused: dict[str, Any]
) -> None:
    before = story.footprint()
    answer = {"approval_id": "apr-earlier", "decision": "approve", "approver": APPROVER}

    refused = story.agent.resume(paused["thread_id"], answer)

    assert refused["status"] == "awaiting_approval"
    assert refused["errors"][-1] == (
        f"approval refused: the answer is for apr-earlier, but this run waits on "
        f"{paused['approval_id']}"
    )
    assert story.footprint() == before
    (row,) = story.approvals()
    assert (row.state, row.approver) == ("pending", None)
    assert story.answer(paused)["status"] == "promoted"
