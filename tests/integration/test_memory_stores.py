"""Memory and the agent's checkpointer on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from lifecycle.errors import InfrastructureError
from lifecycle.ports import Memory
from memory import StoreMemory, open_checkpointer, open_store
from tests.postgres_server import free_port

MODEL = "fraud_detector"


class CountState(TypedDict):
    """The smallest state worth checkpointing: a running total and the steps that made it."""

    total: int
    seen: Annotated[list[str], operator.add]


def add_one(state: CountState) -> dict[str, Any]:
    return {"total": state["total"] + 1, "seen": ["add_one"]}


def tiny_graph() -> StateGraph[CountState]:
    graph = StateGraph(CountState)
    graph.add_node("add_one", add_one)
    graph.add_edge(START, "add_one")
    graph.add_edge("add_one", END)
    return graph


def thread(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def record_a_rolled_back_rollout(memory: Memory) -> str:
    """A canary in production that the monitor rolled back; returns the rollout's episode id."""
    rollout = memory.record_episode(
        MODEL,
        "deployment",
        {
            "version": "2",
            "stage": "production",
            "strategy": "canary",
            "outcome": "succeeded",
            "canary_steps": [5, 10, 25, 50, 100],
            "deployment_id": "dep-2",
        },
    )
    memory.record_episode(
        MODEL, "rollback", {"deployment_id": "dep-2", "reasons": ["error rate 4.1% > 1%"]}
    )
    return rollout


def test_memory_roundtrips_on_a_real_store(database_url: str) -> None:
    with open_store(database_url) as store:
        memory = StoreMemory(store)
        rollout = record_a_rolled_back_rollout(memory)

        assert [e["kind"] for e in memory.episodes(MODEL)] == ["rollback", "deployment"]
        assert memory.episodes(MODEL, "deployment")[0]["canary_steps"] == [5, 10, 25, 50, 100]
        procedure = memory.procedure(MODEL)
        assert procedure["last_production_rollout"]["episode_id"] == rollout
        assert procedure["last_production_rollout"]["outcome"] == "rolled_back"
        assert procedure["failure_reasons"] == [{"reason": "error rate 4.1% > 1%", "count": 1}]


def test_memory_survives_closing_and_reopening_the_store(database_url: str) -> None:
    with open_store(database_url) as store:
        rollout = record_a_rolled_back_rollout(StoreMemory(store))

    with open_store(database_url) as store:
        memory = StoreMemory(store)
        assert len(memory.episodes(MODEL)) == 2
        advice = memory.advice(MODEL)

    assert advice.rollback_preset == "conservative"
    assert advice.canary_steps == (1, 5, 10, 25, 50, 100)
    assert advice.reason is not None and f"(episode {rollout})" in advice.reason


def test_a_checkpointer_keeps_a_graphs_state_per_thread_across_reopening(
    database_url: str,
) -> None:
    with open_checkpointer(database_url) as saver:
        graph = tiny_graph().compile(checkpointer=saver)
        graph.invoke({"total": 41, "seen": []}, thread("t-1"))
        assert graph.get_state(thread("t-1")).values == {"total": 42, "seen": ["add_one"]}
        assert graph.get_state(thread("t-2")).values == {}
        # SqliteSaver.list() holds the saver's lock while iterating: materialise it first.
        assert len(list(saver.list(thread("t-1")))) >= 2

    with open_checkpointer(database_url) as saver:
        graph = tiny_graph().compile(checkpointer=saver)
        graph.invoke({"total": 0, "seen": []}, thread("t-1"))
        assert graph.get_state(thread("t-1")).values == {
            "total": 1,
            "seen": ["add_one", "add_one"],
        }


def test_store_and_checkpointer_share_the_database_and_open_side_by_side(
    database_url: str,
) -> None:
    with open_store(database_url) as store, open_checkpointer(database_url) as saver:
        StoreMemory(store).record_episode(MODEL, "health", {"outcome": "succeeded"})
        tiny_graph().compile(checkpointer=saver).invoke({"total": 0, "seen": []}, thread("t"))

        assert len(StoreMemory(store).episodes(MODEL)) == 1


def test_sqlite_agent_state_lives_in_a_sibling_of_the_deployers_file(
    sqlite_url: str, tmp_path: Path
) -> None:
    with open_store(sqlite_url) as store:
        StoreMemory(store).record_episode(MODEL, "health", {})

    assert (tmp_path / "deployer-agent.db").is_file()
    assert not (tmp_path / "deployer.db").exists()


def test_the_sqlite_folder_is_created_when_missing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'home' / 'deployer.db'}"
    with open_checkpointer(url) as saver:
        tiny_graph().compile(checkpointer=saver).invoke({"total": 0, "seen": []}, thread("t"))

    assert (tmp_path / "new" / "home" / "deployer-agent.db").is_file()


def test_an_unreachable_postgres_is_an_infrastructure_error_without_the_password() -> None:
    url = f"postgresql+psycopg://deployer:s3cret@127.0.0.1:{free_port()}/nowhere"

    with pytest.raises(InfrastructureError) as caught, open_store(url):
        pass

    assert caught.value.retryable
    assert "s3cret" not in str(caught.value)
