"""``build_graph(deps)``: the ModelMonitorAgent's LangGraph graph, uncompiled.

    intake -> gather -> decide -> record -> remember

It turns the production watch's evidence into one decision per model, with reasons: nothing,
alert, ask the deployer to roll back, or ask the retraining agent to retrain (a ``Handoff`` in
the output). The watcher compiles it without a checkpointer (each run is one tick); usable alone
or as a subgraph.
"""

from __future__ import annotations

import itertools

from langgraph.graph import END, START, StateGraph

from agents.model_monitor.deps import MonitorDeps
from agents.model_monitor.nodes import MonitorNodes
from agents.model_monitor.state import InputState, State

GRAPH_NAME = "model_monitor"


def build_graph(deps: MonitorDeps) -> StateGraph[State, None, InputState, State]:
    """The monitor agent's graph over ``deps``."""
    graph = StateGraph(State, input_schema=InputState, output_schema=State)
    nodes = MonitorNodes(deps)
    steps = ("intake", "gather", "decide", "record", "remember")
    for name in steps:
        graph.add_node(name, getattr(nodes, name))
    graph.add_edge(START, steps[0])
    for before, after in itertools.pairwise(steps):
        graph.add_edge(before, after)
    graph.add_edge(steps[-1], END)
    return graph
