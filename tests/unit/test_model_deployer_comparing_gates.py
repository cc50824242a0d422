"""The promote flow's gates that compare with production (issue 15): relative criteria judged
against the version serving users, on a retraining evaluation's held-out data when it compared
these very two, and the shadow's latency and errors beside agreement. A worse candidate is
refused with every unmet gate listed, and nothing changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lifecycle.errors import ProductionCriteriaNotMetError
from lifecycle.latency import bucket_of
from lifecycle.metrics import ShadowStats
from lifecycle.retraining import RunStatus, Trigger
from tests.agent_fakes import World, make_world
from tests.unit.model_deployer_story import MODEL, REQUESTER, Story

RELATIVE = ("accuracy>=0.8", "accuracy>=production-0.02")


@pytest.fixture
def story(tmp_path: Path) -> Story:
    return Story.over(make_world(tmp_path))


def mirrored(requests: int, primary_ms: float, shadow_ms: float, errors: int = 0) -> ShadowStats:
    """What a gateway measured: ``requests`` mirrored, timed on both sides, ``errors`` failed."""
    return ShadowStats(
        compared=requests - errors,
        agreed=requests - errors,
        shadow_errors=errors,
        primary_latency={bucket_of(primary_ms): requests},
        shadow_latency={bucket_of(shadow_ms): requests},
    )


def candidate(story: Story, shadow: ShadowStats, accuracy: float) -> str:
    """v1 (accuracy 0.93) serves users; a candidate with ``accuracy`` and the relative criteria
    is mirrored with ``shadow`` and has been in shadow long enough."""
    story.serving()
    version, mirror = story.shadow_deployed(criteria=RELATIVE, accuracy=accuracy)
    story.world.metrics.shadows[mirror] = shadow
    story.world.clock.advance(hours=25)
    return version


def evaluated(world: World, version: str, evaluation: dict[str, Any], lineage: bool) -> None:
    """A retraining run that registered ``version`` and evaluated it (named by the version's
    lineage when ``lineage``, else found by its ``new_version``)."""
    with world.uow() as uow:
        run = uow.retraining.open_run("rt-1", MODEL, Trigger.DRIFT, REQUESTER, world.clock.now())
        run.new_version, run.evaluation = version, evaluation
        uow.retraining.set_status(run, RunStatus.HANDED_OVER, world.clock.now())
        if lineage:
            uow.models.get(MODEL, version).lineage = {"retraining_run_id": "rt-1"}
        uow.commit()


def test_a_worse_slower_failing_candidate_is_refused_with_every_unmet_gate_listed(
    story: Story,
) -> None:
    version = candidate(story, mirrored(200, 5.0, 60.0, errors=10), accuracy=0.85)
    before = story.footprint()

    with pytest.raises(ProductionCriteriaNotMetError) as refused:
        story.promote(version, "production")

    assert refused.value.unmet == [
        "accuracy=0.85 misses accuracy>=production-0.02 (production v1: 0.93, bar 0.91) "
        "on registered metrics",
        "shadow p95 61.8 ms is above 24.9 ms (1.2x the primary's 4.9 ms, or 20 ms above it) "
        "over 200 mirrored requests",
        "shadow error rate 5.00% (10 of 200 mirrored requests) is above 1.00%",
    ]
    assert refused.value.exit_code == 3
    assert str(refused.value).startswith(f"{MODEL} v2 cannot go to production yet: accuracy=0.85")
    assert story.footprint() == before
    assert story.world.stage_of(MODEL, version) == story.registry_stage(version) == "shadow"


def test_too_few_mirrored_requests_leave_the_shadow_gates_inconclusive_never_passed(
    story: Story,
) -> None:
    version = candidate(story, mirrored(99, 5.0, 5.0), accuracy=0.93)

    with pytest.raises(ProductionCriteriaNotMetError) as refused:
        story.promote(version, "production")

    assert refused.value.unmet == [
        "only 99 of the 100 shadow comparisons needed",
        "only 99 of the 100 mirrored requests needed to compare latency",
        "only 99 of the 100 mirrored requests needed to judge shadow errors",
    ]


@pytest.mark.parametrize("lineage", [True, False], ids=["named by lineage", "found by version"])
def test_the_retraining_evaluation_on_held_out_data_judges_over_registered_metrics(
    story: Story, lineage: bool
) -> None:
    version = candidate(story, mirrored(200, 5.0, 5.0), accuracy=0.95)
    evaluation = {
        "rows": 150,
        "candidate": {"accuracy": 0.88},
        "production": {"version": "1", "accuracy": 0.92},
    }
    evaluated(story.world, version, evaluation, lineage)

    with pytest.raises(ProductionCriteriaNotMetError) as refused:
        story.promote(version, "production")

    assert refused.value.unmet == [
        "accuracy=0.88 misses accuracy>=production-0.02 (production v1: 0.92, bar 0.9) "
        "on the same held-out data (150 rows)"
    ]


def test_an_evaluation_against_another_production_version_is_not_used(story: Story) -> None:
    version = candidate(story, mirrored(200, 5.0, 5.0), accuracy=0.92)
    stale = {"rows": 150, "candidate": {"accuracy": 0.5}, "production": {"version": "7"}}
    evaluated(story.world, version, stale, lineage=True)

    paused = story.promote(version, "production")

    assert paused["status"] == "awaiting_approval", paused["errors"]
    verdicts = {v["gate"]: v for v in paused["verdicts"]}
    assert verdicts["vs_production:accuracy"]["message"] == (
        "accuracy=0.92 meets accuracy>=production-0.02 (production v1: 0.93, bar 0.91) "
        "on registered metrics"
    )


def test_a_candidate_that_matches_production_waits_for_approval_with_every_verdict(
    story: Story,
) -> None:
    version = candidate(story, mirrored(200, 5.0, 5.5), accuracy=0.93)

    paused = story.promote(version, "production")

    assert paused["status"] == "awaiting_approval", paused["errors"]
    assert {v["gate"]: v["status"] for v in paused["verdicts"]} == {
        "metric:accuracy": "passed",
        "shadow_age": "passed",
        "shadow_agreement": "passed",
        "vs_production:accuracy": "passed",
        "shadow_latency": "passed",
        "shadow_errors": "passed",
    }
    (waiting,) = paused["interrupts"]
    assert waiting["verdicts"] == paused["verdicts"], "the approver sees what was judged"


def test_the_first_version_has_no_production_to_beat(story: Story) -> None:
    version = story.in_shadow(criteria=("accuracy>production",))
    story.world.clock.advance(hours=25)

    paused = story.promote(version, "production")

    assert paused["status"] == "awaiting_approval", paused["errors"]
    assert {v["gate"]: v["message"] for v in paused["verdicts"]}["vs_production:accuracy"] == (
        "accuracy>production: no production version to compare with"
    )
