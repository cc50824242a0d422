"""One typed vocabulary of requests: what the CLI's options, the chat parser's words and the
HTTP API's bodies become, and one handler carries out: ``agents.handlers.operations.execute``
for the agent's commands, ``agents.handlers.registration.register`` for ``Register``, the
watcher (``agents.entrypoints.watch``) for ``Tick``.

Each command maps 1:1 to a CLI command (DESIGN.md section 6). A command holds what was asked,
as asked (a version may be ``2`` or ``v2``, a stage or a strategy any word); the agent's intake
judges it against the state database, so an unknown model, a bad version or an unknown stage is
refused there, with the same typed error and message on every path. The chat and the API hand
over stages and strategies already parsed (the enums); the CLI hands over the words as typed.
A deploy's share is range-checked here too, except under the ``AS_ASKED`` validation context
(the CLI's), where the intake judges it after the model and the version, as it always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, TypeAlias, assert_never

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from lifecycle.stages import ModelStage
from lifecycle.strategies import StrategyName

Verb = Literal[
    "promote", "deploy", "rollback", "approve", "reject", "status", "history", "help", "decisions"
]
"""The command words."""


AS_ASKED: Final[Mapping[str, Any]] = {"as_asked": True}
"""Validation context for a command built from what a person typed on the command line: the
share of a deploy is not range-checked here, so the intake refuses it (after an unknown model or
version, with its own message and exit code), exactly as before commands existed."""

Stage = Annotated[ModelStage | str, Field(union_mode="left_to_right")]
"""A stage as parsed (the chat, the API) or as typed (the CLI; the intake judges the word)."""

Strategy = Annotated[StrategyName | str, Field(union_mode="left_to_right")]
"""A strategy as parsed or as typed (the intake judges the word)."""

ThreadId = Annotated[
    str | None,
    Field(
        description="Run on this graph thread (again: resume it).",
        max_length=90,  # the system thread (``system-`` and it) fits the rows' 100 characters
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$",
    ),
]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())


class Promote(_Command):
    """``deployer promote NAME VERSION --to STAGE [--reason TEXT]``."""

    kind: Literal["promote"] = "promote"
    model_name: str
    version: str
    target_stage: Stage
    reason: str | None = None
    thread_id: ThreadId = None


class Deploy(_Command):
    """``deployer deploy NAME VERSION [--strategy S] [--traffic PCT] [--replicas N] [--cpu C]
    [--memory M] [--autoscale MIN:MAX[:TARGET]] [--reason TEXT]``. The resource figures are held
    as typed; ``lifecycle.resource_asks`` reads them (``operations.execute``, before anything
    is written)."""

    kind: Literal["deploy"] = "deploy"
    model_name: str
    version: str
    strategy: Strategy | None = None
    traffic: float | None = None
    replicas: int = 1
    cpu: str | None = None
    """CPUs per replica (``0.5``, ``500m``); a Ray deployment only."""
    memory: str | None = None
    """Memory per replica (``512Mi``, ``1Gi``); a Ray deployment only."""
    autoscale: str | None = None
    """``MIN:MAX[:TARGET_ONGOING]`` replicas; a Ray deployment only."""
    reason: str | None = None
    thread_id: ThreadId = None

    @field_validator("traffic")
    @classmethod
    def _a_share(cls, value: float | None, info: ValidationInfo) -> float | None:
        as_asked = isinstance(info.context, Mapping) and info.context.get("as_asked")
        if value is not None and not as_asked and not 0.0 <= value <= 100.0:
            raise ValueError(f"traffic must be between 0 and 100 percent, not {value}")
        return value


class Rollback(_Command):
    """``deployer rollback NAME [--to DEPLOYMENT_ID | --undo DEPLOYMENT_ID] [--reason TEXT]``.

    ``to_deployment_id`` is the deployment to go back to; ``undo_deployment_id`` the one to take
    out of service (seed 004's ``current_deployment_id``); at most one of them."""

    kind: Literal["rollback"] = "rollback"
    model_name: str
    to_deployment_id: str | None = None
    undo_deployment_id: str | None = None
    reason: str | None = None
    thread_id: ThreadId = None


class Approve(_Command):
    """``deployer approve ID [--comment TEXT]``."""

    kind: Literal["approve"] = "approve"
    approval_id: str
    comment: str | None = None


class Reject(_Command):
    """``deployer reject ID [--comment TEXT]``."""

    kind: Literal["reject"] = "reject"
    approval_id: str
    comment: str | None = None


class Register(_Command):
    """``deployer register NAME --model-uri URI [--metric K=V]... [--criteria "K>=V"]...``
    (metrics already read into numbers); the handler judges the name, the criteria, the URI."""

    kind: Literal["register"] = "register"
    model_name: str
    model_uri: str
    metrics: dict[str, float] = Field(default_factory=dict)
    criteria: tuple[str, ...] = ()
    reference: str | None = None
    """A CSV or Parquet file of feature rows: the version's drift reference (local only)."""
    label: str | None = None
    """A semantic version label (``1.2.0`` or ``v1.2.0``), unique per model (issue 15)."""


class Tick(_Command):
    """One monitoring tick of ``deployer watch [--model NAME]``: every model, or one."""

    kind: Literal["tick"] = "tick"
    model_name: str | None = None


class Status(_Command):
    """``deployer status [NAME]``."""

    kind: Literal["status"] = "status"
    model_name: str | None = Field(default=None, min_length=1)


class History(_Command):
    """``deployer history NAME``."""

    kind: Literal["history"] = "history"
    model_name: str = Field(min_length=1)


class Decisions(_Command):
    """``deployer decisions NAME``: what the monitor agent decided about a model lately."""

    kind: Literal["decisions"] = "decisions"
    model_name: str = Field(min_length=1)


class Help(_Command):
    """What the chat understands; ``topic`` narrows it to one command."""

    kind: Literal["help"] = "help"
    topic: Verb | None = None


Command: TypeAlias = (
    Promote | Deploy | Rollback | Approve | Reject | Status | History | Help | Decisions
)

AgentCommand: TypeAlias = Promote | Deploy | Rollback | Approve | Reject
"""The commands the model deployer agent carries out (the others only read). ``Approve`` and
``Reject`` carry no thread id: they resume the thread their approval belongs to."""


def describe(request: Command) -> str:
    """One plain English sentence saying what ``request`` will do, for a confirmation prompt."""
    match request:
        case Promote():
            version, stage = named_version(request.version), request.target_stage
            what = f"{version} of {request.model_name} to {stage}"
            return _sentence(f"Promote {what}", request.reason)
        case Deploy():
            strategy = str(request.strategy).replace("_", "-") if request.strategy else "default"
            at = "" if request.traffic is None else f" at {request.traffic:g}% traffic"
            what = f"{named_version(request.version)} of {request.model_name}"
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
        case Decisions():
            return f"Show the monitor's decisions about {request.model_name}."
        case Help():
            topic = f"the {request.topic} command" if request.topic else "the commands I understand"
            return f"Explain {topic}."
    assert_never(request)


def named_version(asked: str) -> str:
    """A version as asked, in a sentence: ``v3``, ``v1.2.0``, ``the latest version``."""
    text = str(asked).strip()
    return "the latest version" if text.lower() == "latest" else f"v{text.lstrip('vV')}"


def _sentence(body: str, reason: str | None) -> str:
    return f"{body} because {reason.rstrip('.!?')}." if reason else f"{body}."


class SetObjectives(_Command):
    """``deployer slo set NAME --p95-ms 40 ...``: the objectives given (None turns one off);
    carried out by ``agents.handlers.slo.set_objectives`` (not one of the agent's commands)."""

    kind: Literal["slo_set"] = "slo_set"
    model_name: str = Field(min_length=1)
    changes: dict[str, float | None]


class ShowObjectives(_Command):
    """``deployer slo show NAME``; carried out by ``agents.handlers.slo.show``."""

    kind: Literal["slo_show"] = "slo_show"
    model_name: str = Field(min_length=1)
