"""The ModelMonitorAgent: the production watch's evidence turned into decisions with reasons
(nothing, alert, ask the deployer to roll back, ask for retraining) as a LangGraph graph."""

from agents.model_monitor.agent import run_monitor
from agents.model_monitor.deps import MonitorDeps
from agents.model_monitor.graph import GRAPH_NAME, build_graph
from agents.model_monitor.state import InputState, ModelWatch, MonitorDecision, State

__all__ = [
    "GRAPH_NAME",
    "InputState",
    "ModelWatch",
    "MonitorDecision",
    "MonitorDeps",
    "State",
    "build_graph",
    "run_monitor",
]
