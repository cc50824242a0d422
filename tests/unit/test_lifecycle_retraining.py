"""The retraining vocabulary's own rules: a policy's defaults, the active statuses, and the
words of a run's alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from lifecycle.handoff import AgentName, Handoff
from lifecycle.retraining import (
    ACTIVE_RUN_STATUSES,
    RETRAINING_ALERTS,
    RETRAINING_TEXTS,
    RetrainingPolicy,
    RunStatus,
)


@dataclass(frozen=True)
class Target:
    model: str


@pytest.mark.parametrize(
    ("payload", "summary"),
    [
        ({"summary": "too few rows", "error": "boom"}, "too few rows"),
        ({"error": "the project failed"}, "the project failed"),
        ({"summary": "", "error": "x"}, "x"),
        ({}, "iris's retraining"),
    ],
)
def test_a_run_alert_says_the_event_s_summary_else_its_error_else_whose_run(
    payload: dict[str, Any], summary: str
) -> None:
    text, action = RETRAINING_TEXTS
    assert text(payload, Target("iris")) == summary
    assert action(payload, Target("iris")) == "deployer retraining runs iris"


def test_failed_worse_and_stalled_runs_warn_and_a_handover_or_resume_informs() -> None:
    assert dict(RETRAINING_ALERTS) == {
        "retraining_failed": 2,
        "retraining_not_better": 2,
        "retraining_handed_over": 1,
        "retraining_stalled": 2,
        "retraining_resumed": 1,
    }


def test_only_unfinished_runs_hold_their_model() -> None:
    assert {s.value for s in ACTIVE_RUN_STATUSES} == {
        "requested",
        "awaiting_approval",
        "running",
        "evaluating",
    }
    assert set(RunStatus) - ACTIVE_RUN_STATUSES == {
        RunStatus.HANDED_OVER,
        RunStatus.NOT_BETTER,
        RunStatus.REJECTED,
        RunStatus.FAILED,
    }


def test_a_policy_defaults_to_main_six_hours_of_cool_down_a_week_of_data_and_no_trigger() -> None:
    policy = RetrainingPolicy(model_name="iris", project="/p")
    assert (policy.entry_point, policy.params, policy.expensive) == ("main", {}, False)
    assert (policy.drift_features, policy.quality_drop, policy.schedule) == (None, None, None)
    assert (policy.cooldown_seconds, policy.data_window_seconds) == (21600, 604800)


def test_a_handoff_names_its_target_and_keeps_its_request() -> None:
    handoff = Handoff(to=AgentName.RETRAINING, request={"model_name": "iris"}, reason="drift")
    assert handoff.source is None and handoff.to.value == "retraining"
    assert [a.value for a in AgentName] == ["model_deployer", "model_monitor", "retraining"]
    assert Handoff(to=AgentName.DEPLOYER, reason="r").request == {}
