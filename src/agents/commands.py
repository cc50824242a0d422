"""One typed vocabulary of requests: what the chat parser reads, the HTTP API's bodies become,
and ``agents.handlers.operations.execute`` carries out.

Each command maps 1:1 to a CLI command (DESIGN.md section 6). A command holds what was asked,
as asked (a version may be ``2`` or ``v2``); the agent's intake judges it against the state
database, so an unknown model or a bad version is refused there, with the same message on
every path.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, assert_never

from pydantic import BaseModel, ConfigDict, Field

from lifecycle.stages import ModelStage
from lifecycle.strategies import StrategyName

Verb = Literal["promote", "deploy", "rollback", "approve", "reject", "status", "history", "help"]
"""The command words."""


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())


class Promote(_Command):
    """``deployer promote NAME VERSION --to STAGE [--reason TEXT]``."""

    kind: Literal["promote"] = "promote"
    model_name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    target_stage: ModelStage
    reason: str | None = None


class Deploy(_Command):
    """``deployer deploy NAME VERSION [--strategy S] [--traffic PCT]``."""

    kind: Literal["deploy"] = "deploy"
    model_name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    strategy: StrategyName | None = None
    traffic: float | None = Field(default=None, ge=0.0, le=100.0)


class Rollback(_Command):
    """``deployer rollback NAME [--to DEPLOYMENT_ID] [--reason TEXT]``."""

    kind: Literal["rollback"] = "rollback"
    model_name: str = Field(min_length=1)
    to_deployment_id: str | None = None
    reason: str | None = None


class Approve(_Command):
    """``deployer approve ID [--comment TEXT]``."""

    kind: Literal["approve"] = "approve"
    approval_id: str = Field(min_length=1)
    comment: str | None = None


class Reject(_Command):
    """``deployer reject ID [--comment TEXT]``."""

    kind: Literal["reject"] = "reject"
    approval_id: str = Field(min_length=1)
    comment: str | None = None


class Status(_Command):
    """``deployer status [NAME]``."""

    kind: Literal["status"] = "status"
    model_name: str | None = Field(default=None, min_length=1)


class History(_Command):
    """``deployer history NAME``."""

    kind: Literal["history"] = "history"
    model_name: str = Field(min_length=1)


class Help(_Command):
    """What the chat understands; ``topic`` narrows it to one command."""

    kind: Literal["help"] = "help"
    topic: Verb | None = None


Command: TypeAlias = Promote | Deploy | Rollback | Approve | Reject | Status | History | Help

AgentCommand: TypeAlias = Promote | Deploy | Rollback | Approve | Reject
"""The commands the model deployer agent carries out (the others only read)."""


def describe(request: Command) -> str:
    """One plain English sentence saying what ``request`` will do, for a confirmation prompt."""
    match request:
        case Promote():
            what = f"v{request.version} of {request.model_name} to {request.target_stage.value}"
            return _sentence(f"Promote {what}", request.reason)
        case Deploy():
            strategy = request.strategy.value.replace("_", "-") if request.strategy else "default"
            at = "" if request.traffic is None else f" at {request.traffic:g}% traffic"
            what = f"v{request.version} of {request.model_name}"
            return f"Deploy {what} with the {strategy} strategy{at}."
        case Rollback():
            to = request.to_deployment_id
            target = f"deployment {to}" if to else "its previous deployment"
            return _sentence(f"Roll back {request.model_name} to {target}", request.reason)
        case Approve() | Reject():
            verb = "Approve" if request.kind == "approve" else "Reject"
            comment = f" with the comment: {request.comment}" if request.comment else ""
            return f"{verb} approval {request.approval_id}{comment}."
        case Status():
            return f"Show the status of {request.model_name or 'all models'}."
        case History():
            return f"Show the history of {request.model_name}."
        case Help():
            topic = f"the {request.topic} command" if request.topic else "the commands I understand"
            return f"Explain {topic}."
    assert_never(request)


def _sentence(body: str, reason: str | None) -> str:
    return f"{body} because {reason.rstrip('.!?')}." if reason else f"{body}."
