"""Stand-in agents for the system graph's unit tests: tiny graphs with the agents' contract
(input fields in, ``status``/``errors``/``handoffs`` out) that do what a script says and
remember what they were asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from agents.supervisor import AgentSpec
from lifecycle.handoff import AgentName, Handoff


@dataclass(kw_only=True)
class StandInInput:
    """The union of the agents' input fields the tests use."""

    action: str = ""
    model_name: str = ""
    version: str | None = None
    target_stage: str | None = None
    strategy: str | None = None
    traffic: float | None = None
    trigger: str = ""
    requested_by: str = ""
    reason: str = ""
    source: str = ""


@dataclass(kw_only=True)
class StandInState(StandInInput):
    status: str = ""
    errors: list[str] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)
    answer: dict[str, Any] | None = None


Script = Callable[[StandInState], Mapping[str, Any]]


@dataclass
class StandIn:
    """One stand-in agent and the inputs it was run with."""

    name: AgentName
    script: Script
    asked: list[StandInInput] = field(default_factory=list)

    def spec(self) -> AgentSpec:
        def run(state: StandInState) -> dict[str, Any]:
            self.asked.append(StandInInput(**{k: getattr(state, k) for k in INPUT_FIELDS}))
            return dict(self.script(state))

        graph = StateGraph(StandInState, input_schema=StandInInput, output_schema=StandInState)
        graph.add_node("run", run)
        graph.add_edge(START, "run")
        graph.add_edge("run", END)
        compiled = graph.compile(name=self.name.value)
        return AgentSpec.of(self.name, compiled, StandInInput, ("action", "version"), StandInState)


INPUT_FIELDS = tuple(StandInInput.__dataclass_fields__)


def done(status: str, *handoffs: Handoff) -> Script:
    """A script that ends in ``status`` and hands on ``handoffs``."""
    return lambda state: {"status": status, "handoffs": list(handoffs)}


def by_action(statuses: Mapping[str, str]) -> Script:
    """A deployer stand-in: the status per ``action:target_stage`` (or ``action``)."""

    def script(state: StandInState) -> dict[str, Any]:
        key = f"{state.action}:{state.target_stage or state.strategy or ''}"
        status = statuses.get(key, statuses.get(state.action, "failed"))
        errors = [f"{key} refused"] if status in {"rejected", "failed"} else []
        return {"status": status, "errors": errors}

    return script


def asks_approval(state: StandInState) -> dict[str, Any]:
    """A stand-in that pauses for an answer, as the deployer's approval does."""
    answer = interrupt({"approval_id": "apr-1", "action": state.action})
    return {"status": "promoted" if answer.get("decision") == "approve" else "rejected"}


def to_deployer(what: str, **request: Any) -> Handoff:
    return Handoff(
        to=AgentName.DEPLOYER,
        request={"model_name": "iris", **request},
        reason=what,
        source=AgentName.RETRAINING,
    )


RETRAINING_CHAIN = (
    to_deployer("promote to staging", action="promote", version="3", target_stage="staging"),
    to_deployer("promote to shadow", action="promote", version="3", target_stage="shadow"),
    to_deployer("deploy the shadow", action="deploy", version="3", strategy="shadow"),
)
"""What a retraining hands on for a version that beats production."""
