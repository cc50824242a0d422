"""The monitor agent for LangGraph Studio and ``langgraph dev`` (see ``langgraph.json``):
compiled without a checkpointer, over this home (set up once per process in a worker thread,
as ``model_deployer.studio`` explains)."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from agents.model_deployer import studio as deployer_studio
from agents.model_monitor.deps import MonitorDeps
from agents.model_monitor.graph import GRAPH_NAME, build_graph


def home_deps() -> MonitorDeps:
    """The monitor's deps over this home (blocking: call it off the loop)."""
    deps = deployer_studio.home_deps()
    return MonitorDeps(deps.uow, deps.memory, deps.clock, deps.actor)  # type: ignore[arg-type]


def build_monitor() -> CompiledStateGraph[Any, Any, Any, Any]:
    graph: CompiledStateGraph[Any, Any, Any, Any] = deployer_studio.once(
        GRAPH_NAME, lambda: build_graph(home_deps()).compile(name=GRAPH_NAME)
    )
    return graph


async def make_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """``langgraph.json``'s factory: the monitor agent's graph, built in a worker thread."""
    return await asyncio.to_thread(build_monitor)
