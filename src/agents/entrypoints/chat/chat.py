"""``deployer chat``: an operator's sentence -> the parser's typed command -> the same use case
the CLI runs -> an answer in plain sentences.

Nothing is guessed: an ambiguous or incomplete command gets the parser's question back and
changes nothing; an error gets its one readable line. The default parser never calls out; an
LLM-backed one may be given behind :class:`IntentParser`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol, assert_never

from agents.bootstrap import Container
from agents.commands import (
    AgentCommand,
    Approve,
    Decisions,
    Deploy,
    Help,
    History,
    Promote,
    Reject,
    Rollback,
    Status,
)
from agents.commands import Command as ChatCommand
from agents.entrypoints.chat import chat_parser, questions, retrain_chat, slo_chat
from agents.entrypoints.chat.alerts_chat import alert_window, answer_alerts
from agents.entrypoints.chat.chat_parser import Clarification
from agents.entrypoints.chat.questions import WINDOW_SECONDS
from agents.handlers import operations
from agents.retraining.intake import NoRetrainingPolicyError
from lifecycle.errors import BadInputError, ModelDeployerError, UnknownModelError
from lifecycle.records import utcnow
from lifecycle.tenant_views import local_reader
from lifecycle.tenants import Grants


class IntentParser(Protocol):
    """Turns text into a typed request or a clarifying question (the default is deterministic)."""

    def __call__(
        self, text: str, known_models: Collection[str] | None = None
    ) -> ChatCommand | Clarification: ...


@dataclass
class ChatAnswer:
    """What the operator reads, and what scripts read (``--json``)."""

    reply: str
    request: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    exit_code: int = 0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reply": self.reply,
            "request": self.request,
            "result": self.result,
            "exit_code": self.exit_code,
            "error": self.error,
        }


def answer(
    c: Container, text: str, actor: str, parser: IntentParser = chat_parser.parse
) -> ChatAnswer:
    """Carry out one chat command and say what happened (errors are answers, not exceptions)."""
    with c.uow() as uow:  # the asker's tenants, now: everything below is cut to them
        grants = local_reader(uow.access.grants_of(actor))
        known = grants.visible(uow.models.list_model_names(), str)
    window = alert_window(text, utcnow())
    if window is not None:  # "what alerts fired today?": a question, answered from the history
        result, reply = answer_alerts(c, *window, grants)
        return ChatAnswer(reply, {"kind": "alerts", "since": window[0].isoformat()}, result)
    if (drifting := questions.drift_model(text)) is not None:  # "is NAME drifting?"
        if _hidden(grants, drifting):  # said exactly as for a model that does not exist
            error = UnknownModelError(f"no model named {drifting!r} is registered")
            asked = {"kind": "drift", "model_name": drifting, "window_seconds": WINDOW_SECONDS}
            return ChatAnswer(f"I cannot tell: {error}", asked, exit_code=2, error=_name(error))
        return ChatAnswer(**questions.answer_drift(c, drifting))
    if (retraining := retrain_chat.retrain_request(text)) is not None:  # "retrain iris"
        model, reason = retraining
        if _hidden(grants, model):
            error = NoRetrainingPolicyError(
                f"{model} has no retraining policy; set one with deployer retraining set "
                f"{model} --project PATH"
            )
            asked = {"kind": "retrain", "model_name": model, "reason": reason}
            return ChatAnswer(f"I did not do that: {error}", asked, exit_code=2, error=_name(error))
        return ChatAnswer(**retrain_chat.answer_retrain(c, model, reason, actor))
    objectives = slo_chat.parse(text)
    if objectives is not None:
        return _objectives(c, objectives, actor)
    request = parser(text, known)
    if isinstance(request, Clarification):
        return ChatAnswer(request.question, request.model_dump(mode="json"), exit_code=2)
    asked = echo(request)
    try:
        result, reply = _carry_out(c, request, actor, grants)
    except ModelDeployerError as exc:
        return ChatAnswer(
            f"I did not do that: {exc}",
            asked,
            exit_code=exc.exit_code,
            error=type(exc).__name__,
        )
    code = 4 if result.get("status") == "awaiting_approval" else 0
    return ChatAnswer(reply, asked, result, exit_code=code)


def _hidden(grants: Grants, model: str) -> bool:
    """Whether ``model`` is another tenant's, which the asker may not know exists."""
    try:
        return not grants.sees(model)
    except BadInputError:
        return False  # not a model name: the question's own path says so


def _name(error: ModelDeployerError) -> str:
    return type(error).__name__


def _objectives(c: Container, request: slo_chat.SloRequest, actor: str) -> ChatAnswer:
    asked = request.model_dump(mode="json")
    try:
        result, reply = slo_chat.carry_out(c, request, actor)
    except ModelDeployerError as exc:
        code, name = exc.exit_code, type(exc).__name__
        return ChatAnswer(f"I did not do that: {exc}", asked, exit_code=code, error=name)
    return ChatAnswer(reply, asked, result)


LATER_FIELDS = frozenset(
    {"thread_id", "replicas", "cpu", "memory", "autoscale", "undo_deployment_id"}
)
"""Fields the commands gained for the CLI and the API, never set by the chat: its echo of a
request (``deployer chat --json``'s ``request``) leaves them out while they are at their
default, and so does a deploy's ``reason``, which the chat's deploy never takes."""


def echo(request: ChatCommand) -> dict[str, Any]:
    """``request`` as the chat echoes it, unchanged by the fields added for other callers."""
    later = LATER_FIELDS | ({"reason"} if isinstance(request, Deploy) else set())
    fields = type(request).model_fields
    unset = {k for k in later & fields.keys() if getattr(request, k) == fields[k].default}
    return request.model_dump(mode="json", exclude=unset)


def _carry_out(
    c: Container, r: ChatCommand, actor: str, grants: Grants
) -> tuple[dict[str, Any], str]:
    if isinstance(r, Help):
        return {}, chat_parser.GRAMMAR_HELP
    if isinstance(r, Status):
        return _status(c, r.model_name, grants)
    if isinstance(r, History):
        from agents.queries.history import model_history

        out = model_history(c, r.model_name, limit=5)
        lines = [f"{e['at']:%Y-%m-%d %H:%M} {e['summary']}" for e in out["events"]]
        return out, f"The last {len(lines)} events of {r.model_name}:\n" + "\n".join(lines)
    if isinstance(r, Decisions):  # "what did the monitor decide about iris"
        from agents.queries.decisions import decisions

        out = decisions(c, r.model_name, limit=5)
        return out, decisions_sentence(r.model_name, out["decisions"])
    # a request for an agent goes to the supervisor; an answer resumes the thread that waits
    out = operations.execute(c, r, actor, "chat")
    return out, _done_sentence(c, r, out)


def _done_sentence(c: Container, r: AgentCommand, out: dict[str, Any]) -> str:
    """What the agent did, in a sentence."""
    shown = f"v{out.get('version') or r.version}" if isinstance(r, Promote | Deploy) else ""
    match r:
        case Promote() if out["status"] == "awaiting_approval":
            waiting = out["approval_id"]
            return (
                f"{shown} of {r.model_name} passed every gate and waits for approval "
                f"{waiting}; an approver says 'approve {waiting}'."
            )
        case Promote():
            return (
                f"{shown} of {r.model_name} is now in {r.target_stage}; "
                f"{serving_sentence(c, r.model_name)}."
            )
        case Deploy():
            m = out["deployment_manifest"]
            return (
                f"{shown} of {r.model_name} is deployed ({m['strategy'].replace('_', '-')}) "
                f"as {m['deployment_id']}; {serving_sentence(c, r.model_name)}."
            )
        case Rollback():
            return f"{r.model_name} is rolled back; {serving_sentence(c, r.model_name)}."
        case Approve():
            a = out["approval"]
            return (
                f"Approved: v{a['version']} of {a['model_name']} is now in {a['target_stage']}; "
                f"{serving_sentence(c, a['model_name'])}."
            )
        case Reject():
            a = out["approval"]
            return f"Rejected: v{a['version']} of {a['model_name']} stays where it was."
    assert_never(r)


def serving_sentence(c: Container, model_name: str) -> str:
    """``production serves v1 at 90% and v2 at 10%`` (or that nothing serves users)."""
    routes = c.router.get_routes(model_name)
    if routes is None:
        return "nothing serves its users yet"
    with c.reader() as uow:
        versions = {d.deployment_id: d.model_version for d in uow.deployments.list(model_name)}
    parts = [
        f"v{versions.get(d, '?')} at {w:g}%"
        for d, w in sorted(routes.weights.items(), key=lambda item: -item[1])
    ]
    text = "production serves " + " and ".join(parts)
    if routes.shadow_deployment_id:
        shadow = versions.get(routes.shadow_deployment_id, "?")
        text += f", with v{shadow} mirroring {routes.shadow_percent:g}%"
    return text


def _status(c: Container, model_name: str | None, grants: Grants) -> tuple[dict[str, Any], str]:
    from agents.queries.status import home_status

    out = home_status(c, model_name)
    out["models"] = grants.visible(out.get("models") or [], lambda m: str(m["name"]))
    if not out.get("models"):
        return out, "No models are registered yet."
    lines = []
    for model in out["models"]:
        stages = ", ".join(f"v{v['version']} {v['stage']}" for v in model["versions"])
        lines.append(f"{model['name']}: {stages}; {serving_sentence(c, model['name'])}.")
    return out, "\n".join(lines)


def decisions_sentence(model_name: str, found: list[dict[str, Any]]) -> str:
    """The monitor's latest decisions about a model, newest first, one line each."""
    if not found:
        return f"The monitor has decided nothing about {model_name} yet."
    lines = [
        f"{d['decided_at']:%Y-%m-%d %H:%M} {d['action']} ({d['severity']}): "
        + ("; ".join(d["reasons"]) or "no reason given")
        for d in found
    ]
    return f"The monitor's last {len(lines)} decisions about {model_name}:\n" + "\n".join(lines)
