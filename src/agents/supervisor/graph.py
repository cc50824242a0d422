"""``build_graph(agents)``: the system graph, uncompiled.

Every request comes in as a ``SystemRequest``; the supervisor hands it to the agent that owns
it, and each handoff an agent returns back to the supervisor, in order::

    intake -> supervisor -(Command goto)-> model_deployer | model_monitor | retraining
                  ^                                      |
                  +--------------------------------------+      (until done, or a step fails)

Compile it with a checkpointer: an agent's ``interrupt()`` (the deployer's approval) pauses the
system thread, and ``Command(resume=...)`` on that thread finishes it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from langgraph.graph import START, StateGraph

from agents.supervisor.intake import intake
from agents.supervisor.nodes import SUPERVISOR, AgentNode, Supervisor
from agents.supervisor.spec import AgentSpec
from agents.supervisor.state import InputState, State
from lifecycle.handoff import AgentName

GRAPH_NAME = "system"


def build_graph(
    agents: Mapping[AgentName, AgentSpec], deferred: Collection[AgentName] = ()
) -> StateGraph[State, None, InputState, State]:
    """The system graph over ``agents`` (any of the three; a handoff to one that is missing
    ends the run with a readable error). Handoffs to a ``deferred`` agent are not run but
    returned in ``handoffs`` (a scheduled tick records a retraining and goes on)."""
    graph = StateGraph(State, input_schema=InputState, output_schema=State)
    graph.add_node("intake", intake)
    destinations = tuple(name.value for name in agents)
    graph.add_node(
        SUPERVISOR,
        Supervisor(agents, deferred),
        destinations=(*destinations, SUPERVISOR, "__end__"),
    )
    for name, spec in agents.items():
        graph.add_node(name.value, AgentNode(spec))
        graph.add_edge(name.value, SUPERVISOR)
    graph.add_edge(START, "intake")
    graph.add_edge("intake", SUPERVISOR)
    return graph
