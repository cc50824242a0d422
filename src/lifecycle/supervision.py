"""The supervisor's decisions (issue 15): which agent a request goes to, and how a chain of
handoffs goes on.

A ``SystemRequest`` is what the system graph receives from any path (chat, the schedule, the
ops API, an upstream agent). ``route`` names the agent that owns it; ``first_handoff`` turns it
into that agent's input; after each agent run ``next_queue`` puts the run's own handoffs before
the ones still waiting (a retraining's ``promote staging -> promote shadow -> deploy shadow``
runs in its order), and ``step_succeeded`` says whether the chain may go on: the first step that
does not succeed stops it (a refused promotion to staging deploys no shadow).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from lifecycle.errors import BadInputError
from lifecycle.handoff import AgentName, Handoff

SYSTEM_THREAD_PREFIX = "system-"
"""How the system graph's threads begin: approvals and the watcher's recovery resume a thread
with it through the system graph (``SystemAgent``), any other through its own graph."""


def is_system_thread(thread_id: str | None) -> bool:
    """Whether ``thread_id`` is one of the system graph's threads."""
    return thread_id is not None and thread_id.startswith(SYSTEM_THREAD_PREFIX)


class RequestSource(StrEnum):
    """Where a request came from."""

    CLI = "cli"
    CHAT = "chat"
    SCHEDULE = "schedule"
    API = "api"
    UPSTREAM = "upstream"
    UI = "ui"
    """The web dashboard (``/ui`` on the ops API), as the person logged in."""


class RequestAction(StrEnum):
    """What a request asks for."""

    PROMOTE = "promote"
    DEPLOY = "deploy"
    ROLLBACK = "rollback"
    MONITOR = "monitor"
    """The deployer's health tick over open rollouts."""
    WATCH = "watch"
    """The monitor agent: turn the watch's evidence into decisions."""
    RETRAIN = "retrain"
    CHAT = "chat"
    """Operator text, read into one of the actions above before it is routed."""


ROUTES: dict[RequestAction, AgentName] = {
    RequestAction.PROMOTE: AgentName.DEPLOYER,
    RequestAction.DEPLOY: AgentName.DEPLOYER,
    RequestAction.ROLLBACK: AgentName.DEPLOYER,
    RequestAction.MONITOR: AgentName.DEPLOYER,
    RequestAction.WATCH: AgentName.MONITOR,
    RequestAction.RETRAIN: AgentName.RETRAINING,
}
"""The agent that owns each action (chat text has none until it is read)."""

MAX_STEPS = 20
"""A chain of handoffs longer than this is stopped: agents handing work back and forth."""

STOPPING_STATUSES = frozenset(
    {"", "failed", "error", "rejected", "refused", "awaiting_approval", "cancelled", "blocked"}
)
"""An agent run that ends in one of these did not succeed: the chain stops after it."""


class SystemRequest(BaseModel):
    """One request to the system graph, from any path."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    source: RequestSource = RequestSource.UPSTREAM
    action: RequestAction
    model_name: str = ""
    """The registered model (``monitor``/``watch``: empty means every model)."""
    requested_by: str = ""
    """Who asks (the actor the caller authenticated)."""
    reason: str = ""
    text: str | None = None
    """Chat only: the operator's words."""
    args: dict[str, JsonValue] = Field(default_factory=dict)
    """The owning agent's other input fields as asked: ``version``, ``target_stage``,
    ``strategy``, ``traffic``, ``deployment_id`` (deployer); ``trigger``, ``data_since``,
    ``data_until``, ``retraining_run_id`` (retraining)."""


def route(request: SystemRequest) -> AgentName:
    """The agent that owns ``request``; chat text must be read into an action first."""
    agent = ROUTES.get(request.action)
    if agent is None:
        raise BadInputError("chat text is read into a request before it is routed")
    return agent


def first_handoff(request: SystemRequest) -> Handoff:
    """The handoff that starts a request: the owning agent's input, from outside the system."""
    agent = route(request)
    reserved = {"action", "model_name", "requested_by", "reason"}
    clash = sorted(reserved & set(request.args))
    if clash:
        raise BadInputError(f"args may not repeat the request's own fields: {', '.join(clash)}")
    fields: dict[str, JsonValue] = {"model_name": request.model_name}
    if agent is AgentName.DEPLOYER:
        fields["action"] = request.action.value
    fields.update(
        {
            "requested_by": request.requested_by,
            "reason": request.reason,
            "source": request.source.value,
        }
    )
    fields.update(request.args)
    reason = request.reason or f"{request.action.value} asked through {request.source.value}"
    return Handoff(to=agent, request=fields, reason=reason)  # source None: from outside


def step_succeeded(status: str) -> bool:
    """Whether an agent run that ended in ``status`` lets its chain go on."""
    return status not in STOPPING_STATUSES and not status.startswith("fail")


def next_queue(waiting: Sequence[Handoff], produced: Sequence[Handoff]) -> list[Handoff]:
    """The handoffs still to run after one step: the step's own first, in its order, then the
    ones that were waiting (depth first, so a step's follow-ups finish before its siblings)."""
    return [*produced, *waiting]


def chain_status(statuses: Sequence[str], left: int) -> str:
    """The system run's status from its steps' statuses and the handoffs left unrun:
    ``completed``; the last step's status when it stopped the chain; ``awaiting_approval``."""
    if not statuses:
        return "failed"
    last = statuses[-1]
    if step_succeeded(last) and left == 0:
        return "completed"
    return last or "failed"
