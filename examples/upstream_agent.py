"""An upstream agent that uses model-deployer's system graph as one node of its own graph.

    feature_analyzer -> model_deployer_system -> report

``feature_analyzer`` decides what to ask (a typed ``SystemRequest``); the system node sends it
to the system graph (the supervisor routes it to the agent that owns it) and keeps the typed
result (``results``: every agent run, ``status``, ``errors``); ``report`` reads it. A promotion
to production pauses for a human approval: the pause surfaces at THIS graph's caller as
``__interrupt__`` (the deployer's ``approval_id``), and ``Command(resume={...})`` on this
graph's thread finishes it. Run it over a home::

    DEPLOYER_HOME=~/.deployer python examples/upstream_agent.py '{"action": "monitor"}'
"""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from pydantic import JsonValue
from pydantic_core import to_jsonable_python

from lifecycle.supervision import RequestSource, SystemRequest


@dataclass(kw_only=True)
class PipelineState:
    """The upstream agent's own state."""

    ask: dict[str, JsonValue] = field(default_factory=dict)
    """What the upstream agent wants from model-deployer (a SystemRequest's fields)."""
    result: dict[str, JsonValue] | None = None
    """The system graph's typed result, as JSON (``results``, ``status``, ``errors``)."""
    notes: list[str] = field(default_factory=list)


def build_pipeline(system: CompiledStateGraph[Any, Any, Any, Any]) -> StateGraph[Any]:
    """The upstream graph around ``system`` (the system graph compiled WITHOUT a checkpointer:
    it runs on this graph's, so its approval pause is this graph's)."""

    def feature_analyzer(state: PipelineState) -> dict[str, Any]:
        return {"notes": [*state.notes, f"asking for {state.ask.get('action')}"]}

    def model_deployer_system(state: PipelineState) -> dict[str, Any]:
        request = SystemRequest.model_validate({"source": RequestSource.UPSTREAM, **state.ask})
        out = system.invoke({"request": request})  # an interrupt inside pauses this graph
        return {"result": to_jsonable_python(out)}

    def report(state: PipelineState) -> dict[str, Any]:
        result = state.result or {}
        steps = [f"{r['agent']}: {r['status']}" for r in result.get("results") or []]  # type: ignore[union-attr,index]
        return {"notes": [*state.notes, f"system {result.get('status')} ({', '.join(steps)})"]}

    graph = StateGraph(PipelineState)
    graph.add_node("feature_analyzer", feature_analyzer)
    graph.add_node("model_deployer_system", model_deployer_system)
    graph.add_node("report", report)
    graph.add_edge(START, "feature_analyzer")
    graph.add_edge("feature_analyzer", "model_deployer_system")
    graph.add_edge("model_deployer_system", "report")
    graph.add_edge("report", END)
    return graph


def main(argv: list[str]) -> int:
    """Send one request (JSON, default a monitor tick) through the system graph of the home
    ``DEPLOYER_HOME`` names, as an upstream agent would, and print the typed result."""
    from agents.bootstrap import bootstrap

    ask = json.loads(argv[0]) if argv else {"action": "monitor"}
    container = bootstrap()
    try:
        with container.open_system() as system:
            pipeline = build_pipeline(system.subgraph()).compile(checkpointer=system.checkpointer)
            config = {"configurable": {"thread_id": f"upstream-{uuid.uuid4().hex}"}}
            out = pipeline.invoke(PipelineState(ask=ask), config)  # type: ignore[arg-type]
    finally:
        container.close()
    waiting = [i.value for i in out.get("__interrupt__", [])]
    print(json.dumps({"notes": out["notes"], "result": out.get("result"), "waiting": waiting}))
    return 4 if waiting else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
