"""The system graph's state: one typed request in, every agent's result out.

The supervisor keeps the handoffs still to run (``pending``) and the one running
(``current``); each agent node appends an ``AgentResult``. Values are frozen pydantic models
(``SystemRequest``, ``Handoff``, ``AgentResult``), which the strict checkpointer restores
because they are reachable from these annotations (``memory.checkpoint_types``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from lifecycle.handoff import AgentName, Handoff
from lifecycle.supervision import SystemRequest


class AgentResult(BaseModel):
    """What one agent run did: who ran, what it was asked, how it ended, what it handed on."""

    model_config = ConfigDict(frozen=True)

    agent: AgentName
    request: dict[str, JsonValue] = Field(default_factory=dict)
    """The agent's input, as the handoff gave it."""
    reason: str = ""
    """Why the agent was asked (the handoff's reason)."""
    source: AgentName | None = None
    """The agent that handed the work over (None: the request itself)."""
    status: str
    """The agent's own final status (``promoted``, ``deployed``, ``monitored``, ...)."""
    errors: tuple[str, ...] = ()
    outputs: dict[str, JsonValue] = Field(default_factory=dict)
    """The agent's key outputs (a deploy's manifest, a promotion's version record, ...)."""
    handoffs: tuple[Handoff, ...] = ()
    """The work this run handed on, in its order."""


@dataclass(kw_only=True)
class InputState:
    """What a caller (chat, the schedule, the ops API, an upstream agent) sends."""

    request: SystemRequest | None = None
    """The request: where it came from, the action asked for and its fields (or chat text)."""


@dataclass(kw_only=True)
class State(InputState):
    """Everything the supervisor knows while the request runs, and what it returns."""

    pending: list[Handoff] = field(default_factory=list)
    """Handoffs still to run, in order (a step's own follow-ups first)."""

    current: Handoff | None = None
    """The handoff the running agent was given."""

    results: list[AgentResult] = field(default_factory=list)
    """Out: every agent run, in order."""

    handoffs: list[Handoff] = field(default_factory=list)
    """Out: work left unrun when the chain stopped (a refused step skips what followed)."""

    status: str = ""
    """Out: ``completed``, or the status of the step that stopped the chain (``failed``,
    ``rejected``, ...); a run paused for an approval shows the deployer's interrupt."""

    errors: list[str] = field(default_factory=list)
    """Out: what went wrong, one readable line each."""


def request_of(state: State) -> SystemRequest:
    """The state's request (a checkpoint or a Studio input gives it as JSON)."""
    if state.request is None:
        raise ValueError("the system graph needs a request")
    if isinstance(state.request, SystemRequest):
        return state.request
    return SystemRequest.model_validate(state.request)


def handoff_of(value: Handoff | dict[str, JsonValue]) -> Handoff:
    """A handoff as stored (an instance, or its JSON)."""
    return value if isinstance(value, Handoff) else Handoff.model_validate(value)


def result_of(value: AgentResult | dict[str, JsonValue]) -> AgentResult:
    """An agent result as stored (an instance, or its JSON)."""
    return value if isinstance(value, AgentResult) else AgentResult.model_validate(value)
