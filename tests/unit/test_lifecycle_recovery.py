"""The healing of a stuck deploy pinned exactly: which deploys are stuck (at the deadline's
edge), when a thread is resumed and when the deployment is rolled back, every sentence, and
the table that takes a stuck deployment's traffic away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.ports import Routes
from lifecycle.recovery import (
    IN_FLIGHT,
    HealAction,
    HealDecision,
    heal_stuck_deploy,
    routes_without,
)
from lifecycle.stages import DeploymentStatus

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
S = DeploymentStatus
W, R, B, N = HealAction.WAIT, HealAction.RESUME, HealAction.ROLL_BACK, HealAction.NONE


@pytest.mark.parametrize(
    ("status", "idle", "resumable", "resume_failed", "expected"),
    [
        (S.ACTIVE, 9999.0, True, False, HealDecision(N, "the deploy is over (active)")),
        (S.FAILED, 9999.0, False, True, HealDecision(N, "the deploy is over (failed)")),
        (S.DRAINING, 9999.0, True, False, HealDecision(N, "the deploy is over (draining)")),
        (S.ROLLED_BACK, 0.0, True, False, HealDecision(N, "the deploy is over (rolled_back)")),
        (
            S.DEPLOYING,
            59.4,
            True,
            False,
            HealDecision(W, "deploying with no progress for 59 s; the deadline is 60 s"),
        ),
        (
            S.PENDING,
            0.0,
            False,
            True,
            HealDecision(W, "pending with no progress for 0 s; the deadline is 60 s"),
        ),
        (
            S.DEPLOYING,
            60.0,
            True,
            False,
            HealDecision(R, "deploying with no progress for 60 s: resuming its thread"),
        ),
        (
            S.PENDING,
            61.0,
            True,
            False,
            HealDecision(R, "pending with no progress for 61 s: resuming its thread"),
        ),
        (
            S.DEPLOYING,
            60.0,
            False,
            False,
            HealDecision(B, "deploying with no progress for 60 s; its thread cannot be resumed"),
        ),
        (
            S.DEPLOYING,
            300.0,
            True,
            True,
            HealDecision(B, "deploying with no progress for 300 s; its resume did not finish it"),
        ),
        (
            S.PENDING,
            90.0,
            False,
            True,
            HealDecision(B, "pending with no progress for 90 s; its resume did not finish it"),
        ),
    ],
)
def test_a_deploy_idle_past_its_deadline_is_resumed_if_it_can_be_else_rolled_back(
    status: DeploymentStatus,
    idle: float,
    resumable: bool,
    resume_failed: bool,
    expected: HealDecision,
) -> None:
    since = NOW - timedelta(seconds=idle)
    assert heal_stuck_deploy(status, since, NOW, 60.0, resumable, resume_failed) == expected


def test_a_resume_is_not_failed_unless_told() -> None:
    since = NOW - timedelta(seconds=60)
    decision = heal_stuck_deploy(S.DEPLOYING, since, NOW, 60.0, True)
    assert decision.action is HealAction.RESUME


def test_only_pending_and_deploying_are_in_flight() -> None:
    assert {S.PENDING, S.DEPLOYING} == IN_FLIGHT


def test_heal_actions_keep_their_words() -> None:
    assert [a.value for a in HealAction] == ["none", "wait", "resume", "rollback"]


def table(
    weights: dict[str, float],
    stable: str | None = None,
    shadow: str | None = None,
    percent: float = 0.0,
) -> Routes:
    return Routes("m", weights, shadow, percent, stable)


@pytest.mark.parametrize(
    ("routes", "stuck", "fallback", "expected"),
    [
        (None, "new", "old", None),
        (table({"old": 100.0}, "old"), "new", None, None),
        (
            table({"old": 100.0}, "old", "new", 20.0),
            "new",
            None,
            table({"old": 100.0}, "old"),
        ),
        (table({"old": 90.0, "new": 10.0}, "old"), "new", None, table({"old": 100.0}, "old")),
        (
            table({"old": 90.0, "new": 10.0}, "old", "mirror", 5.0),
            "new",
            None,
            table({"old": 100.0}, "old", "mirror", 5.0),
        ),
        (table({"a": 60.0, "new": 40.0}), "new", None, table({"a": 100.0}, "a")),
        (
            table({"b": 30.0, "a": 50.0, "new": 20.0}, "new"),
            "new",
            None,
            table({"a": 100.0}, "a"),
        ),
        (
            table({"old": 30.0, "b": 50.0, "new": 20.0}, "old"),
            "new",
            None,
            table({"old": 100.0}, "old"),
        ),
        (table({"a": 0.5, "new": 99.5}, "new"), "new", "old", table({"a": 100.0}, "a")),
        (table({"a": 0.0, "new": 100.0}, "new"), "new", "old", table({"old": 100.0}, "old")),
        (table({"new": 100.0}, "new"), "new", "old", table({"old": 100.0}, "old")),
        (table({"new": 100.0}, "new"), "new", None, None),
        (table({"new": 100.0}), "new", "new", None),
    ],
)
def test_a_stuck_deployments_users_go_back_to_the_stable_deployment(
    routes: Routes | None, stuck: str, fallback: str | None, expected: Routes | None
) -> None:
    assert routes_without(routes, stuck, fallback) == expected
