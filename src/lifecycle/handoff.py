"""A handoff: one agent asks another to do something (issue 15's supervisor routes it).

Every agent's output state carries ``handoffs``; the supervisor turns each into a
``Command(goto=<agent>)`` with the request as that agent's input. The request holds the
target agent's ``InputState`` fields as plain JSON, so a handoff checkpoints and shows in
LangGraph Studio as it is.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class AgentName(StrEnum):
    """The agents of the system graph (also their node names and ``langgraph.json`` ids)."""

    DEPLOYER = "model_deployer"
    MONITOR = "model_monitor"
    RETRAINING = "retraining"


class Handoff(BaseModel):
    """Work one agent hands to another, with why."""

    model_config = ConfigDict(frozen=True)

    to: AgentName
    request: dict[str, JsonValue] = Field(default_factory=dict)
    """The target agent's input fields (``action``, ``model_name``, ...)."""
    reason: str
    """Why, in a sentence; kept in the target's run and in memory."""
    source: AgentName | None = None
    """The agent that handed it over (None: a request from outside the system)."""
