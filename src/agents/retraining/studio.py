"""The retraining agent for LangGraph Studio and ``langgraph dev`` (see ``langgraph.json``):
compiled without a checkpointer, over this home (set up once per process in a worker thread,
as ``model_deployer.studio`` explains)."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from agents.model_deployer import studio as deployer_studio
from agents.retraining.deps import RetrainingDeps
from agents.retraining.graph import GRAPH_NAME, build_graph


def home_deps() -> RetrainingDeps:
    """The retraining agent's deps over this home (blocking: call it off the loop)."""
    container, memory = deployer_studio.home()
    deps: RetrainingDeps = deployer_studio.once(
        "retraining_deps", lambda: container.retraining_deps(None, memory)
    )
    return deps


def build_retraining() -> CompiledStateGraph[Any, Any, Any, Any]:
    graph: CompiledStateGraph[Any, Any, Any, Any] = deployer_studio.once(
        GRAPH_NAME, lambda: build_graph(home_deps()).compile(name=GRAPH_NAME)
    )
    return graph


async def make_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """``langgraph.json``'s factory: the retraining agent's graph, built in a worker thread."""
    return await asyncio.to_thread(build_retraining)
