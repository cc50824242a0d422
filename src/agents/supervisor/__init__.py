"""The supervisor: the system graph that receives every request and routes it to an agent."""

from agents.supervisor.graph import GRAPH_NAME, build_graph
from agents.supervisor.spec import AgentSpec, deployer_spec
from agents.supervisor.state import AgentResult, InputState, State

__all__ = [
    "GRAPH_NAME",
    "AgentResult",
    "AgentSpec",
    "InputState",
    "State",
    "build_graph",
    "deployer_spec",
]
