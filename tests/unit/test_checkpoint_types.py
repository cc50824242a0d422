"""The checkpointer restores exactly our state's types: every typed value the graph stores
round-trips through the strict serializer, and a class outside the list is refused."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from langgraph.checkpoint.serde import jsonplus

from agents.model_deployer.state import HealthCheck, MonitorReport, State
from lifecycle.gates import VerdictStatus
from lifecycle.monitor import MonitorAction
from lifecycle.ports import Routes
from lifecycle.rollback import configure
from lifecycle.rollback_plan import plan_rollback
from lifecycle.rollout import DeploymentView, DeployRequest, plan_rollout
from lifecycle.stages import DeploymentStatus, ModelStage
from lifecycle.strategies import StrategyName
from memory.checkpoint_types import msgpack_allowlist, reachable_types
from memory.stores import strict_serde
from tests.conftest import REFUSED_CHECKPOINT_TYPES

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
M = "fraud"


def view(dep: str, version: str, status: DeploymentStatus) -> DeploymentView:
    return DeploymentView(
        dep, version, "canary", status, ModelStage.PRODUCTION, NOW - timedelta(hours=1)
    )


def full_state() -> State:
    """A state with every typed field set, as a deploy that was rolled back leaves it."""
    stable = Routes(M, {"v1": 100.0}, stable_deployment_id="v1")
    canary = Routes(M, {"v1": 90.0, "v2": 10.0}, stable_deployment_id="v1")
    live = (view("v1", "1", DeploymentStatus.ACTIVE),)
    request = DeployRequest(M, "2", "abcdef0123456789", StrategyName.CANARY, None)
    plan = plan_rollout(
        request, ModelStage.PRODUCTION, live, stable, None, 10.0, configure("balanced"), NOW
    )
    deployments = (*live, view("v2", "2", DeploymentStatus.ACTIVE))
    rollback = plan_rollback(M, canary, deployments, live[0], True, "0123456789abcdef", NOW)
    check = HealthCheck(
        deployment_id="v2",
        model_name=M,
        version="2",
        strategy="canary",
        target="v1",
        action=MonitorAction.ROLLBACK,
        status=VerdictStatus.FAILED,
        next_percent=None,
        reasons=("error rate 0.2 > 0.05",),
        message="rolled back",
        metrics={"error_rate": 0.2},
    )
    report = MonitorReport(tick_id="t1", checked_at=NOW, checks=(check,))
    return State(action="deploy", model_name=M, plan=plan, rollback=rollback, monitor=report)


def test_every_typed_value_of_the_state_round_trips_through_the_strict_serializer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    serde = strict_serde((State,))
    state = full_state()
    caplog.set_level(logging.WARNING)
    for value in (state.plan, state.rollback, state.monitor):
        assert serde.loads_typed(serde.dumps_typed(value)) == value
    assert not [r for r in caplog.records if "deserializ" in r.getMessage().lower()]


@dataclass
class Stranger:
    """A class no state field names."""

    x: int = 1


def test_a_class_the_state_does_not_name_is_not_restored(caplog: pytest.LogCaptureFixture) -> None:
    # LangGraph warns once per process and class: a second run in one process (mutmut's) too
    jsonplus._warned_blocked_types.discard((Stranger.__module__, Stranger.__name__))
    serde = strict_serde((State,))
    restored = serde.loads_typed(serde.dumps_typed(Stranger()))
    assert not isinstance(restored, Stranger)
    assert any("Blocked deserialization" in r.getMessage() for r in caplog.records)
    REFUSED_CHECKPOINT_TYPES.seen.clear()  # refused on purpose


def test_the_allowlist_is_the_states_own_types_by_module_and_name() -> None:
    allowed = set(msgpack_allowlist(reachable_types(State)))
    assert ("lifecycle.rollback_plan", "RollbackPlan") in allowed
    assert ("agents.model_deployer.state", "MonitorReport") in allowed
    assert ("lifecycle.monitor", "MonitorAction") in allowed
    assert all(module.split(".")[0] in ("agents", "lifecycle") for module, _ in allowed)
