"""The graph state's typed parts (the deploy plan, the rollback plan) survive a checkpoint in
SQLite as the same typed values, and a run starts from the state's own defaults."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from agents.model_deployer.state import InputState, State
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
