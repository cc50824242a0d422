"""The agent's use cases as the CLI, the chat ops and the HTTP API call them.

Each runs one request on its own graph thread through ``Services.open_agent`` and turns the
final state into one JSON-ready dict. A run paused for approval reports ``awaiting_approval``;
a run cut short (a crash, a kill) is taken up again with ``resume_run(thread_id)``.
``execute`` carries out a typed command (``agents.commands``), as the CLI, the chat and the API
give them: it is the one entry to the agent's use cases. ``promote``, ``deploy``, ``rollback``
and ``decide`` below are its implementation (positional, building the graph's input); the
entrypoints do not call them, only ``execute`` and the tests of these functions do.
"""

from __future__ import annotations

from typing import Any, assert_never

from agents.commands import AgentCommand, Approve, Deploy, Promote, Reject, Rollback, Tick
from agents.deployer_outputs import OUTPUT_KEYS
from agents.handlers.model_lock import (
    Subject,
    command_subject,
    hold_model,
    one_actor_per_model,
)
from agents.handlers.retraining_approval import decide_retraining
from agents.ports import Services
from agents.queries.checks import metric_evidence
from database.models import ApprovalRow, ModelVersionRow
from lifecycle.approval import Decision, Role, check_decider, parse_decision
from lifecycle.errors import (
    ApprovalMismatchError,
    BadInputError,
    ConflictError,
    DeploymentFailedError,
    UnknownModelError,
)
from lifecycle.records import utcnow


@one_actor_per_model(command_subject)
def execute(c: Services, command: AgentCommand, actor: str) -> dict[str, Any]:
    """Carry out one of the agent's commands for ``actor``; the result as the CLI prints it."""
    match command:
        case Promote():
            stage, reason = str(command.target_stage), command.reason or ""
            name, version, thread = command.model_name, command.version, command.thread_id
            return promote(c, name, version, stage, actor, reason, thread)
        case Deploy():
            return deploy(
                c,
                command.model_name,
                command.version,
                actor,
                str(command.strategy) if command.strategy else None,
                command.traffic,
                command.replicas,
                command.reason or "",
                command.thread_id,
            )
        case Rollback():
            to, reason = command.to_deployment_id, command.reason or ""
            undo = command.undo_deployment_id
            return rollback(c, command.model_name, actor, to, reason, command.thread_id, undo)
        case Approve() | Reject():
            return decide(c, command.approval_id, actor, command.kind, command.comment or "")
    assert_never(command)


def promote(
    c: Services,
    model_name: str,
    version: str,
    to_stage: str,
    actor: str,
    reason: str = "",
    thread_id: str | None = None,
) -> dict[str, Any]:
    """Move a version one stage on; production pauses for an approval (``awaiting_approval``).
    The implementation of ``execute(Promote)``."""
    request = {
        "action": "promote",
        "model_name": model_name,
        "version": version,
        "target_stage": to_stage,
        "reason": reason,
        "requested_by": actor,
    }
    return _run(c, request, thread_id)


def deploy(
    c: Services,
    model_name: str,
    version: str,
    actor: str,
    strategy: str | None = None,
    traffic: float | None = None,
    replicas: int = 1,
    reason: str = "",
    thread_id: str | None = None,
) -> dict[str, Any]:
    """Deploy a version to the target its stage implies; a failed step raises after cleanup.
    The implementation of ``execute(Deploy)``."""
    request = {
        "action": "deploy",
        "model_name": model_name,
        "version": version,
        "strategy": strategy,
        "traffic": traffic,
        "replicas": replicas,
        "reason": reason,
        "requested_by": actor,
    }
    return _run(c, request, thread_id)


def rollback(
    c: Services,
    model_name: str,
    actor: str,
    to_deployment: str | None = None,
    reason: str = "",
    thread_id: str | None = None,
    undo_deployment: str | None = None,
) -> dict[str, Any]:
    """Switch a model back to its previous production deployment (or ``to_deployment``), or
    take ``undo_deployment`` out of service. The implementation of ``execute(Rollback)``."""
    request = {
        "action": "rollback",
        "model_name": model_name,
        "deployment_id": to_deployment,
        "current_deployment_id": undo_deployment,
        "reason": reason,
        "requested_by": actor,
    }
    return _run(c, request, thread_id)


def _run(c: Services, request: dict[str, Any], thread_id: str | None) -> dict[str, Any]:
    """One request on its own thread (``thread_id`` again resumes that run), by an agent that
    acts for the request's actor (the caller authenticated them: the OS user or a token)."""
    with c.open_agent(request["requested_by"]) as agent:
        return outcome(agent.run(request, thread_id))


def resume_run(c: Services, thread_id: str) -> dict[str, Any]:
    """Take up a run a crash cut short; a finished run returns its result again."""
    with c.open_agent() as agent:
        snapshot = agent.snapshot(thread_id)
        if not snapshot.get("action"):
            raise UnknownModelError(f"no run with thread id {thread_id!r}")
        if snapshot["interrupts"]:
            return outcome({**snapshot, "interrupts": snapshot["interrupts"]})
        model = str(snapshot.get("model_name") or "")
        if not model:  # nothing model-specific to hold (ticks are never checkpointed)
            return outcome(agent.continue_run(thread_id))
        with hold_model(c, model, "resume", str(snapshot.get("requested_by") or "someone")):
            return outcome(agent.continue_run(thread_id))


def list_approvals(c: Services, every: bool = False) -> list[dict[str, Any]]:
    """Pending approvals (all of them with ``every``), oldest first."""
    with c.reader() as uow:
        return [
            {
                **approval_dict(row),
                "label": _label(uow.models.find(row.model_name, row.version)),
                "metrics": _evidence(uow.models.find(row.model_name, row.version)),
            }
            for row in uow.approvals.list(None if every else "pending")
        ]


def _label(version: ModelVersionRow | None) -> str | None:
    """A version's label (none for a retraining's approval without a version)."""
    return version.label if version is not None else None


def _evidence(version: ModelVersionRow | None) -> list[dict[str, Any]]:
    """A version's metric evidence (none for a retraining's approval without a version)."""
    return metric_evidence(version) if version is not None else []


def decide(
    c: Services, approval_id: str, actor: str, decision: str, comment: str = ""
) -> dict[str, Any]:
    """Approve or reject a pending approval and resume the run that waits on it.
    The implementation of ``execute(Approve)`` and ``execute(Reject)``.

    The run must wait on this very approval (else ApprovalMismatchError, nothing changed); the
    row moves from pending by compare-and-set in its own committed unit of work before the run
    is resumed, so of two concurrent deciders exactly one wins and the other is told what
    really happened (ConflictError); the answer carries the approval id, which the graph checks
    again. The same decision by the same approver again resumes a run still waiting on it (a
    resume cut short)."""
    verdict = parse_decision(decision)
    with c.uow() as uow:
        row = uow.approvals.get(approval_id)
    if row.action == "retrain":  # an expensive retraining waits on it, not a deployer thread
        return decide_retraining(c, approval_id, actor, verdict, comment)
    with c.uow() as uow:
        row = uow.approvals.get(approval_id)
        summary = approval_dict(row)
        approvers = uow.access.holders(Role.APPROVER)  # the role bindings, as they are now
    again = row.state == _decided(verdict) and row.approver == actor
    if row.state != "pending" and not again:
        raise ConflictError(_lost(row, _decided(verdict)))
    if row.checkpoint_ns and not is_system_thread(row.thread_id):
        raise BadInputError(
            f"approval {approval_id} belongs to an upstream agent's run (thread {row.thread_id}); "
            "answer it through that agent"
        )
    check_decider(verdict, actor, row.requested_by, approvers)
    if row.checkpoint_ns:  # the deployer asked inside the system graph: resume that thread
        return _decide_on_system(c, row, actor, verdict, comment, again)
    answer = {"decision": verdict.value, "approver": actor, "comment": comment}
    with c.open_agent(actor) as agent:
        try:
            _check_waiting(agent.snapshot(str(row.thread_id)), row)
        except ApprovalMismatchError:
            _refuse_if_decided(c, approval_id, _decided(verdict))  # decided meanwhile
            raise
        if not again:
            _claim(c, approval_id, _decided(verdict), actor, comment)
        resumed = agent.resume(str(row.thread_id), {**answer, "approval_id": approval_id})
        result = outcome(resumed)
    return {**result, "approval": {**summary, "state": _decided(verdict), "approver": actor}}


def _routed_subject(c: Services, command: Any, actor: str, source: str) -> Subject:
    return command_subject(c, command, actor)


def execute_routed(
    c: Services, command: Promote | Deploy | Rollback, actor: str, source: str
) -> dict[str, Any]:
    """Carry out ``command`` for ``actor`` as a request to the system graph (the supervisor
    routes it to the deployer), on a system thread; the result as ``execute`` gives it."""
    return system_outcome(request_system(c, command, actor, source))


@one_actor_per_model(_routed_subject)
def request_system(
    c: Services, command: Promote | Deploy | Rollback | Tick, actor: str, source: str
) -> dict[str, Any]:
    """Run ``command`` for ``actor`` through the system graph, holding its model's lock; the
    system's typed result (every agent run, status, errors, the system thread)."""
    from agents.supervisor.intake import request_from_command
    from lifecycle.supervision import RequestSource

    request = request_from_command(command, RequestSource(source), actor)
    thread = None if isinstance(command, Tick) else command.thread_id
    with c.open_system(actor) as system:
        out = system.run(request, thread)
    if out.get("interrupts"):
        out["status"] = "awaiting_approval"
    return out


def is_system_thread(thread_id: str | None) -> bool:
    """Whether a thread is the system graph's (``SystemAgent`` names them ``system-...``)."""
    return str(thread_id or "").startswith("system-")


def _decide_on_system(
    c: Services, row: ApprovalRow, actor: str, verdict: Decision, comment: str, again: bool
) -> dict[str, Any]:
    """``decide`` for an approval the deployer asked for inside the system graph: the same
    checks and compare-and-set, then the SYSTEM thread is resumed."""
    answer = {"decision": verdict.value, "approver": actor, "comment": comment}
    summary = approval_dict(row)
    with c.open_system(actor) as system:
        try:
            _check_waiting(system.snapshot(str(row.thread_id)), row)
        except ApprovalMismatchError:
            _refuse_if_decided(c, row.approval_id, _decided(verdict))
            raise
        if not again:
            _claim(c, row.approval_id, _decided(verdict), actor, comment)
        resumed = system.resume(str(row.thread_id), {**answer, "approval_id": row.approval_id})
        result = system_outcome(resumed)
    return {**result, "approval": {**summary, "state": _decided(verdict), "approver": actor}}


def system_outcome(out: dict[str, Any]) -> dict[str, Any]:
    """A system run as ``outcome`` gives a deployer run: its last deployer step's outputs
    (a refused or failed step raises as the deployer's would), the system thread's id."""
    steps = [r for r in out.get("results") or [] if r.get("agent") == "model_deployer"]
    asked = out.get("request") or {}
    state: dict[str, Any] = {**asked.get("args", {}), "action": asked.get("action")}
    state |= {"model_name": asked.get("model_name"), "status": out.get("status")}
    waits = out.get("interrupts") or []
    if waits:  # paused inside the deployer: its result is not in yet
        state["approval_id"] = waits[0].get("approval_id")
    elif steps:
        state |= {**steps[-1]["outputs"], "status": steps[-1]["status"]}
    state |= {"errors": out.get("errors"), "thread_id": out.get("thread_id"), "interrupts": waits}
    return {**outcome(state), "agents": [f"{r['agent']}:{r['status']}" for r in out["results"]]}


def _check_waiting(snapshot: dict[str, Any], row: ApprovalRow) -> None:
    """Refuse unless the approval's run waits on this approval now."""
    waits = snapshot.get("interrupts") or []
    waiting = waits[0].get("approval_id") if waits and isinstance(waits[0], dict) else None
    if waiting != row.approval_id:
        raise ApprovalMismatchError(
            f"approval {row.approval_id} is not what its run waits on (thread {row.thread_id} "
            f"waits on {waiting or 'nothing'}): nothing changed"
        )


def _claim(c: Services, approval_id: str, state: str, actor: str, comment: str) -> None:
    """Move the row from pending (compare-and-set, committed); a lost race says who won."""
    with c.uow() as uow:
        won = uow.approvals.decide(approval_id, state, actor, comment, utcnow())
        if won:
            uow.commit()
            return
        truth = _lost(uow.approvals.get(approval_id), state)
    raise ConflictError(truth)


def _refuse_if_decided(c: Services, approval_id: str, state: str) -> None:
    with c.reader() as uow:
        row = uow.approvals.get(approval_id)
        truth = _lost(row, state) if row.state != "pending" else None
    if truth is not None:
        raise ConflictError(truth)


VERBS = {"approved": "approve", "rejected": "reject"}


def _lost(row: ApprovalRow, state: str) -> str:
    """What a decider whose decision came second is told: the decision that stands."""
    return (
        f"approval {row.approval_id} was {row.state} by {row.approver} first: your "
        f"{VERBS[state]} decision changed nothing"
    )


def _decided(decision: Decision) -> str:
    return "approved" if decision is Decision.APPROVE else "rejected"


def approval_dict(row: ApprovalRow) -> dict[str, Any]:
    """An approval as the CLI and API show it."""
    return {
        "approval_id": row.approval_id,
        "model_name": row.model_name,
        "version": row.version,
        "target_stage": row.target_stage,
        "requested_by": row.requested_by,
        "requested_at": row.requested_at,
        "reason": row.reason,
        "state": row.state,
        "approver": row.approver,
        "decided_at": row.decided_at,
        "comment": row.comment,
        "thread_id": row.thread_id,
        "action": row.action,
    }


def outcome(state: dict[str, Any]) -> dict[str, Any]:
    """The final state as one result; a failed deploy raises with every reason."""
    result = {key: state.get(key) for key in OUTPUT_KEYS}
    if state.get("interrupts"):
        result["status"] = "awaiting_approval"
        result["waiting_for"] = state["interrupts"][0]
    if state.get("rollback"):
        result["rollback"] = state["rollback"]
    if result["status"] == "failed":
        raise DeploymentFailedError(
            "; ".join(state.get("errors") or ["the deploy failed"])
            + " (the previous routing is in place)"
        )
    return result
