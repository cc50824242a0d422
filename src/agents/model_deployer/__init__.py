"""The ModelDeployerAgent: promote, deploy and roll back model versions as a LangGraph graph."""

from agents.model_deployer.agent import ModelDeployerAgent
from agents.model_deployer.deps import AgentPolicy, DeployerDeps, Serving
from agents.model_deployer.graph import build_graph
from agents.model_deployer.state import InputState, State

__all__ = [
    "AgentPolicy",
    "DeployerDeps",
    "InputState",
    "ModelDeployerAgent",
    "Serving",
    "State",
    "build_graph",
]
