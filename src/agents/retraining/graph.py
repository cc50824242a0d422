"""``build_graph(deps)``: the RetrainingAgent's LangGraph graph, uncompiled::

    intake -> prepare_data -> train -> register -> evaluate -> conclude -> END
                        (a failed step -> fail -> END)

Compile it with a checkpointer to resume a run cut short (each step is keyed, so a resumed
run repeats only what never finished); usable alone or as a subgraph of the system graph.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.retraining.deps import RetrainingDeps
from agents.retraining.intake import IntakeNode
from agents.retraining.outcome import OutcomeNodes, next_or_fail
from agents.retraining.state import InputState, State
from agents.retraining.steps import WorkNodes

GRAPH_NAME = "retraining"


def build_graph(deps: RetrainingDeps) -> StateGraph[State, None, InputState, State]:
    """The retraining agent's graph over ``deps``."""
    graph = StateGraph(State, input_schema=InputState, output_schema=State)
    work, outcome = WorkNodes(deps), OutcomeNodes(deps)
    graph.add_node("intake", IntakeNode(deps))
    graph.add_node("prepare_data", work.prepare_data)
    graph.add_node("train", work.train)
    graph.add_node("register", work.register)
    graph.add_node("evaluate", outcome.evaluate)
    graph.add_node("conclude", outcome.conclude)
    graph.add_node("fail", outcome.fail)
    graph.add_edge(START, "intake")
    graph.add_edge("intake", "prepare_data")
    graph.add_conditional_edges("prepare_data", next_or_fail("train"))
    graph.add_conditional_edges("train", next_or_fail("register"))
    graph.add_conditional_edges("register", next_or_fail("evaluate"))
    graph.add_conditional_edges("evaluate", next_or_fail("conclude"))
    graph.add_edge("conclude", END)
    graph.add_edge("fail", END)
    return graph
