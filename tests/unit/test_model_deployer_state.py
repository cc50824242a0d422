"""The graph state's typed parts (the deploy plan, the rollback plan, the monitor's report)
survive a checkpoint in SQLite as the same typed values, and a run starts from the state's own
defaults."""

from __future__ import annotations

import dataclasses
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from agents.model_deployer.intake import run_defaults
from agents.model_deployer.state import HealthCheck, InputState, MonitorReport, State
from lifecycle.gates import VerdictStatus
from lifecycle.monitor import MonitorAction
from lifecycle.ports import Routes
from lifecycle.rollback import configure
from lifecycle.rollback_plan import RollbackPlan
from lifecycle.rollout import RolloutPlan, TrafficUpdate
from lifecycle.stages import ModelStage
from lifecycle.strategies import StrategyName

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ROUTES = Routes("fraud", {"v1": 90.0, "v2": 10.0}, "v0", 5.0, "v1")
ROLLOUT = RolloutPlan(
    deployment_id="v2",
    strategy=StrategyName.CANARY,
    stage=ModelStage.PRODUCTION,
    routed=True,
    initial_percent=10.0,
    canary_steps=(10.0, 50.0, 100.0),
    mirror_percent=100.0,
    previous=ROUTES,
    stable="v1",
    stable_version="1",
    retire_mirror=None,
    rollback_config=configure("conservative"),
    started_at=NOW,
    weight=10.0,
    mirror=0.0,
)
UPDATE = TrafficUpdate(
    deployment_id="v2",
    strategy=StrategyName.CANARY,
    traffic=50.0,
    previous=ROUTES,
    stable="v1",
    completed=False,
)
ROLLBACK = RollbackPlan(
    undo=("v2",),
    target="v1",
    target_version="1",
    restored="v1",
    warm=True,
    previous=ROUTES,
    started_at=NOW,
    decided_at=NOW,
)


def checkpointed(tmp_path: Path, update: dict[str, Any]) -> dict[str, Any]:
    """Run a one-node graph over ``State`` that writes ``update``; read the checkpoint back
    through a second saver on the same file, as a resumed process would."""
    graph = StateGraph(State, input_schema=InputState, output_schema=State)
    graph.add_node("write", lambda state: update)
    graph.add_edge(START, "write")
    graph.add_edge("write", END)
    path = tmp_path / "checkpoints.db"
    config: Any = {"configurable": {"thread_id": "t"}}
    with closing(sqlite3.connect(path, check_same_thread=False)) as conn:
        graph.compile(checkpointer=SqliteSaver(conn)).invoke({"action": "deploy"}, config)
    with closing(sqlite3.connect(path, check_same_thread=False)) as conn:
        return dict(graph.compile(checkpointer=SqliteSaver(conn)).get_state(config).values)


def test_a_rollout_plan_and_a_rollback_plan_come_back_from_a_checkpoint_as_they_were(
    tmp_path: Path,
) -> None:
    values = checkpointed(tmp_path, {"plan": ROLLOUT, "rollback": ROLLBACK})
    assert (values["plan"], values["rollback"]) == (ROLLOUT, ROLLBACK)
    assert isinstance(values["plan"].previous, Routes)


def test_a_share_change_comes_back_from_a_checkpoint_as_a_share_change(tmp_path: Path) -> None:
    assert checkpointed(tmp_path, {"plan": UPDATE})["plan"] == UPDATE


def test_a_monitor_report_comes_back_from_a_checkpoint_as_it_was(tmp_path: Path) -> None:
    check = HealthCheck(
        deployment_id="v2",
        model_name="fraud",
        version="2",
        strategy="canary",
        target="v1",
        action=MonitorAction.ADVANCE,
        status=VerdictStatus.PASSED,
        next_percent=25.0,
        reasons=("error rate 0.00% is within 1.00%",),
        message="error rate 0.00% is within 1.00%",
        metrics={"candidate": {"requests": 60, "p95_ms": None}, "verdicts": []},
        outcome="v2 now takes 25%",
    )
    report = MonitorReport(tick_id="tick", checked_at=NOW, checks=(check,))
    assert checkpointed(tmp_path, {"monitor": report})["monitor"] == report


def test_a_monitor_report_is_written_for_callers_with_plain_values_and_iso_times() -> None:
    report = MonitorReport(tick_id="tick", checked_at=NOW)
    assert report.model_dump(mode="json") == {
        "tick_id": "tick",
        "checked_at": "2026-11-29T12:00:00+00:00",
        "checks": [],
    }


def test_a_new_run_resets_every_field_the_state_adds_to_the_request() -> None:
    asked = {f.name for f in dataclasses.fields(InputState)}
    added = {f.name for f in dataclasses.fields(State)} - asked
    defaults = run_defaults()
    assert set(defaults) == added
    assert defaults["errors"] == [] and defaults["plan"] is None and defaults["status"] == ""
    assert run_defaults()["errors"] is not defaults["errors"]  # a fresh list each run
