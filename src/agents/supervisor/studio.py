"""The system graph for LangGraph Studio and ``langgraph dev`` (see ``langgraph.json``).

Compiled without a checkpointer (Studio brings its own), over the agents wired to this home
(``model_deployer.studio``'s deps, set up once per process in a worker thread: the server's
event loop refuses blocking I/O). Each agent is one ``AgentSpec`` line in ``studio_agents``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from agents.model_deployer import studio as deployer_studio
from agents.model_deployer.graph import build_graph as deployer_graph
from agents.supervisor.graph import GRAPH_NAME, build_graph
from agents.supervisor.spec import AgentSpec, deployer_spec, monitor_spec, retraining_spec
from lifecycle.handoff import AgentName


def studio_agents() -> dict[AgentName, AgentSpec]:
    """The system's agents over this home (blocking: the home is set up on first use)."""
    from agents.model_monitor import studio as monitor_studio
    from agents.retraining import studio as retraining_studio

    deps = deployer_studio.home_deps()
    return {
        AgentName.DEPLOYER: deployer_spec(deployer_graph(deps).compile()),
        AgentName.MONITOR: monitor_spec(monitor_studio.build_monitor()),
        AgentName.RETRAINING: retraining_spec(retraining_studio.build_retraining()),
    }


def build_system() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The system graph over ``studio_agents``, compiled without a checkpointer."""
    graph: CompiledStateGraph[Any, Any, Any, Any] = deployer_studio.once(
        GRAPH_NAME, lambda: build_graph(studio_agents()).compile(name=GRAPH_NAME)
    )
    return graph


async def make_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """``langgraph.json``'s factory: the system graph, built in a worker thread."""
    return await asyncio.to_thread(build_system)
