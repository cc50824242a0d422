"""The system graph's intake: a request as asked (chat text read by the chat's own grammar)
becomes the first handoff; commands from the CLI, the chat and the schedule become requests."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import JsonValue

from agents.chat_parser import Clarification, parse
from agents.commands import Command as AnyCommand
from agents.commands import Deploy, Promote, Rollback, Tick
from agents.supervisor.state import State, request_of
from lifecycle.errors import BadInputError
from lifecycle.supervision import RequestAction, RequestSource, SystemRequest, first_handoff


def request_from_command(
    command: AnyCommand | Tick, source: RequestSource, actor: str = ""
) -> SystemRequest:
    """The system request for one of the agents' typed commands (``agents.commands``)."""
    args: dict[str, JsonValue]
    match command:
        case Promote():
            action = RequestAction.PROMOTE
            args = {"version": command.version, "target_stage": str(command.target_stage)}
        case Deploy():
            action = RequestAction.DEPLOY
            strategy = str(command.strategy) if command.strategy else None
            args = {"version": command.version, "strategy": strategy}
            args |= {"traffic": command.traffic, "replicas": command.replicas}
            args |= {"cpu": command.cpu, "memory": command.memory, "autoscale": command.autoscale}
        case Rollback():
            action = RequestAction.ROLLBACK
            args = {"deployment_id": command.to_deployment_id}
            args["current_deployment_id"] = command.undo_deployment_id
        case Tick():
            action, args = RequestAction.MONITOR, {}
        case _:
            raise BadInputError(f"{command.kind} is not a request for an agent; ask the chat")
    reason = str(getattr(command, "reason", None) or "")
    return SystemRequest(
        source=source,
        action=action,
        model_name=str(getattr(command, "model_name", None) or ""),
        requested_by=actor,
        reason=reason,
        args={k: v for k, v in args.items() if v is not None},
    )


def read_chat(request: SystemRequest, known: Collection[str] | None = None) -> SystemRequest:
    """Chat text read into the request it asks for (a question back is bad input)."""
    if request.action is not RequestAction.CHAT:
        return request
    read = parse(request.text or "", known)
    if isinstance(read, Clarification):
        raise BadInputError(read.question)
    return request_from_command(read, RequestSource.CHAT, request.requested_by)


def intake(state: State) -> dict[str, Any]:
    """Read the request and queue its first handoff; bad input changes nothing."""
    request = read_chat(request_of(state))
    return {
        "request": request,
        "pending": [first_handoff(request)],
        "current": None,
        "results": [],
        "handoffs": [],
        "status": "",
        "errors": [],
    }
