"""``AgentSpec``: one agent as the system graph runs it, whatever its own state looks like.

A spec holds the agent's compiled graph (compiled without a checkpointer: it inherits the
system graph's, so an ``interrupt()`` inside it pauses the system thread), the fields its input
takes (a handoff's other fields are left out) and the outputs kept in its ``AgentResult``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.pregel import Pregel
from pydantic_core import to_jsonable_python

from agents.deployer_outputs import DEPLOYER_OUTPUTS
from lifecycle.handoff import AgentName, Handoff

COMMON_OUTPUTS = ("status", "errors", "handoffs")
"""Every agent's output contract (``lifecycle.handoff``)."""


@dataclass(frozen=True)
class AgentSpec:
    """One agent of the system graph."""

    name: AgentName
    graph: Pregel[Any, Any, Any, Any]
    """The agent's compiled graph (no checkpointer of its own)."""
    input_fields: frozenset[str]
    """The fields of the agent's ``InputState``."""
    outputs: tuple[str, ...] = ()
    """The agent's key outputs, kept in its result."""
    state_type: type | None = None
    """The agent's full state class: a system checkpointer must restore its values too."""

    @classmethod
    def of(
        cls,
        name: AgentName,
        graph: Pregel[Any, Any, Any, Any],
        input_type: type,
        outputs: Iterable[str] = (),
        state_type: type | None = None,
    ) -> AgentSpec:
        """A spec over ``graph`` whose input is the dataclass ``input_type``."""
        fields = frozenset(f.name for f in dataclasses.fields(input_type))
        return cls(name, graph, fields, tuple(outputs), state_type)

    def input_for(self, handoff: Handoff) -> dict[str, Any]:
        """The agent's input from ``handoff``: the request's fields the agent takes."""
        return {k: v for k, v in handoff.request.items() if k in self.input_fields}

    def kept(self, out: Mapping[str, Any]) -> dict[str, Any]:
        """The outputs kept in the result, as JSON."""
        return {k: to_jsonable_python(out.get(k)) for k in self.outputs if out.get(k) is not None}


def deployer_spec(graph: Pregel[Any, Any, Any, Any]) -> AgentSpec:
    """The ModelDeployerAgent's spec over its compiled graph."""
    from agents.model_deployer.state import InputState, State

    return AgentSpec.of(AgentName.DEPLOYER, graph, InputState, DEPLOYER_OUTPUTS, State)


def state_types(agents: Iterable[AgentSpec]) -> tuple[type, ...]:
    """The state classes a system checkpointer restores: the system's and every agent's."""
    from agents.supervisor.state import State

    return (State, *(a.state_type for a in agents if a.state_type is not None))


def monitor_spec(graph: Pregel[Any, Any, Any, Any]) -> AgentSpec:
    """The ModelMonitorAgent's spec over its compiled graph."""
    from agents.model_monitor.state import InputState, State

    return AgentSpec.of(AgentName.MONITOR, graph, InputState, ("decisions",), State)


RETRAINING_OUTPUTS = ("retraining_run_id", "new_version", "label", "evaluation")
"""What a retraining run's result keeps."""


def retraining_spec(graph: Pregel[Any, Any, Any, Any]) -> AgentSpec:
    """The RetrainingAgent's spec over its compiled graph."""
    from agents.retraining.state import InputState, State

    return AgentSpec.of(AgentName.RETRAINING, graph, InputState, RETRAINING_OUTPUTS, State)
