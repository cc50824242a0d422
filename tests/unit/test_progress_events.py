"""A graph run's nodes as they happen (``agents.progress_events``): an operation's exact
``current_node`` and ``steps_done``. A small real LangGraph graph whose middle node runs an
agent's graph inside it, as the system graph runs the deployer's."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from agents.handlers.operation_runs import Progress
from agents.progress_events import listening, with_listener


class S(TypedDict):
    x: int


class Heard:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def started(self, node: str) -> None:
        self.events.append(("start", node))

    def finished(self, node: str) -> None:
        self.events.append(("end", node))


def system(fail_inside: bool = False) -> Any:
    def check(s: S) -> S:
        if fail_inside:
            raise RuntimeError("the endpoint did not start")
        return {"x": s["x"] + 1}

    inner = StateGraph(S)
    inner.add_node("plan", lambda s: {"x": s["x"] + 1})
    inner.add_node("start_endpoint", check)
    inner.add_edge(START, "plan")
    inner.add_edge("plan", "start_endpoint")
    inner.add_edge("start_endpoint", END)
    agent = inner.compile()

    outer = StateGraph(S)
    outer.add_node("intake", lambda s: {"x": 0})
    outer.add_node("model_deployer", lambda s: agent.invoke(s))
    outer.add_node("supervisor", lambda s: s)
    outer.add_edge(START, "intake")
    outer.add_conditional_edges("intake", lambda s: "model_deployer")
    outer.add_edge("model_deployer", "supervisor")
    outer.add_edge("supervisor", END)
    return outer.compile(checkpointer=InMemorySaver())


def run(graph: Any) -> Any:
    return graph.invoke({"x": 5}, with_listener({"configurable": {"thread_id": "t"}}))


def test_each_node_is_heard_when_it_starts_and_ends_with_its_agent_s_path() -> None:
    heard = Heard()
    with listening(heard):
        assert run(system()) == {"x": 2}
    assert heard.events == [
        ("start", "intake"),
        ("end", "intake"),
        ("start", "model_deployer"),
        ("start", "model_deployer/plan"),
        ("end", "model_deployer/plan"),
        ("start", "model_deployer/start_endpoint"),
        ("end", "model_deployer/start_endpoint"),
        ("end", "model_deployer"),
        ("start", "supervisor"),
        ("end", "supervisor"),
    ]


def test_a_node_that_raises_is_where_the_run_stopped_and_is_not_done() -> None:
    progress = Progress(steps_done=2)  # a run taken up again counts on
    with listening(progress), pytest.raises(RuntimeError):
        run(system(fail_inside=True))
    assert progress.now() == ("model_deployer/start_endpoint", 2 + 2)  # intake, plan
    assert progress.moved.is_set()


def test_nobody_listens_outside_the_block() -> None:
    config = {"configurable": {"thread_id": "t"}}
    assert with_listener(config) is config  # type: ignore[arg-type]
    with listening(Heard()):
        assert len(with_listener(config)["callbacks"]) == 1  # type: ignore[arg-type,index]
    assert with_listener(config) is config  # type: ignore[arg-type]
