"""The agents' use cases as the CLI, the chat ops and the HTTP API call them.

``execute`` carries out a typed command (``agents.commands``), as the CLI, the chat, the API
and the retraining's handoffs give them: it is the one entry. A request for an agent (promote,
deploy, rollback) goes to the system graph (``open_system``), whose supervisor routes it to the
deployer, on a system thread (``system-...``; a caller's ``--thread X`` is ``system-X``); the
final state becomes one JSON-ready dict (``system_outcome``). A run paused for approval reports
``awaiting_approval``, and ``decide`` resumes the thread that waits (a system thread through the
system graph); a run cut short (a crash, a kill) is taken up again with ``resume_run``, and a
deploy cut short by the watcher's healing (``model_deployer.recovery``, through the system
graph). Deployer threads of runs made before every request went through the supervisor still
resume through the deployer.
"""

from __future__ import annotations

from typing import Any, assert_never

from agents.commands import AgentCommand, Approve, Deploy, Promote, Reject, Rollback, Tick
from agents.deployer_outputs import OUTPUT_KEYS
from agents.handlers import quotas
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
from lifecycle.resource_asks import check_asked
from lifecycle.resources import InvalidResourcesError
from lifecycle.supervision import SYSTEM_THREAD_PREFIX, is_system_thread
from lifecycle.tenants import tenant_of


def execute(c: Services, command: AgentCommand, actor: str, source: str) -> dict[str, Any]:
    """Carry out one of the agent's commands for ``actor``; the result as the CLI prints it.

    A request for an agent (promote, deploy, rollback) goes to the system graph, whose
    supervisor routes it to the deployer, on a system thread; ``source`` says which path asked
    (``lifecycle.supervision.RequestSource``: cli, chat, api, schedule, upstream). An answer to
    an approval resumes the thread that waits on it."""
    match command:
        case Promote() | Deploy() | Rollback():
            return execute_routed(c, command, actor, source)
        case Approve() | Reject():
            return answer(c, command, actor)
    assert_never(command)


@one_actor_per_model(command_subject)
def answer(c: Services, command: Approve | Reject, actor: str) -> dict[str, Any]:
    """Approve or reject for ``actor``, holding the approval's model (``decide``)."""
    return decide(c, command.approval_id, actor, command.kind, command.comment or "")


def resume_run(c: Services, thread_id: str) -> dict[str, Any]:
    """Take up a run a crash cut short; a finished run returns its result again. A system
    thread (every run since requests go through the supervisor; ``--thread X`` names
    ``system-X``) resumes through the system graph; a deployer thread of an older run, as
    before."""
    if not is_system_thread(thread_id):
        with c.open_agent() as agent:
            snapshot = agent.snapshot(thread_id)
            if snapshot.get("action"):
                return _resume_deployer(c, agent, snapshot, thread_id)
    return _resume_system(c, system_thread(thread_id))


def _resume_deployer(
    c: Services, agent: Any, snapshot: dict[str, Any], thread_id: str
) -> dict[str, Any]:
    if snapshot["interrupts"]:
        return outcome({**snapshot, "interrupts": snapshot["interrupts"]})
    model = str(snapshot.get("model_name") or "")
    if not model:  # nothing model-specific to hold (ticks are never checkpointed)
        return outcome(agent.continue_run(thread_id))
    with hold_model(c, model, "resume", str(snapshot.get("requested_by") or "someone")):
        return outcome(agent.continue_run(thread_id))


def _resume_system(c: Services, thread_id: str) -> dict[str, Any]:
    with c.open_system() as system:
        snapshot = system.snapshot(thread_id)
        asked = snapshot.get("request") or {}
        if not asked:
            raise UnknownModelError(f"no run with thread id {thread_id!r}")
        if snapshot["interrupts"] or not snapshot["next"]:  # waiting, or finished: as it is
            return system_outcome({**snapshot, "status": snapshot.get("status")})
        model, actor = str(asked.get("model_name") or ""), str(asked.get("requested_by") or "")
        with hold_model(c, model, "resume", actor or "someone"):
            return system_outcome(system.continue_run(thread_id))


def system_thread(thread_id: str) -> str:
    """The system thread a caller's thread id names: ``system-X`` for ``X`` (a system thread
    as it is). Approvals and recovery tell the system's threads by that prefix."""
    return thread_id if is_system_thread(thread_id) else f"{SYSTEM_THREAD_PREFIX}{thread_id}"


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
        # the holders in the model's tenant (or the platform's), as they are now
        approvers = uow.access.holders(Role.APPROVER, tenant_of(row.model_name))
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
    routes it to the deployer), on a system thread; the result as ``execute`` gives it.
    A deploy's resources are judged first (``check_resources``): nothing is written for a
    figure the backend cannot honour."""
    if isinstance(command, Deploy):
        check_resources(c, command)
    return system_outcome(request_system(c, command, actor, source))


def check_resources(c: Services, command: Deploy) -> None:
    """Refuse a deploy whose figures are malformed, or that asks the configured backend
    (``DEPLOYER_SERVING``) for what it cannot honour, before any lock, thread, row, approval or
    audit event (``InvalidResourcesError``). An unknown model is left to the intake, so it is
    refused as every unknown model is, whatever else was asked."""
    asked = (command.replicas, command.cpu, command.memory, command.autoscale)
    try:
        check_asked(c.settings.serving, *asked)
    except InvalidResourcesError:
        with c.reader() as uow:
            if command.model_name in uow.models.list_model_names():
                raise
    quotas.refuse_over_quota(c, command)  # early; the deploy node's check is authoritative


@one_actor_per_model(_routed_subject)
def request_system(
    c: Services, command: Promote | Deploy | Rollback | Tick, actor: str, source: str
) -> dict[str, Any]:
    """Run ``command`` for ``actor`` through the system graph, holding its model's lock; the
    system's typed result (every agent run, status, errors, the system thread)."""
    from agents.supervisor.intake import request_from_command
    from lifecycle.supervision import RequestSource

    request = request_from_command(command, RequestSource(source), actor)
    asked = None if isinstance(command, Tick) else command.thread_id
    thread = system_thread(asked) if asked else None
    with c.open_system(actor) as system:
        out = system.run(request, thread)
    if out.get("interrupts"):
        out["status"] = "awaiting_approval"
    return out


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
    if waits:  # paused inside the deployer: what it asks approval for, its result not in yet
        state |= {k: v for k, v in waits[0].items() if k in PAUSE_KEYS}
    elif steps:
        state |= {**steps[-1]["outputs"], "status": steps[-1]["status"]}
    state |= {"errors": out.get("errors"), "thread_id": out.get("thread_id"), "interrupts": waits}
    return {**outcome(state), "agents": [f"{r['agent']}:{r['status']}" for r in out["results"]]}


PAUSE_KEYS = ("approval_id", "version", "target_stage", "verdicts")
"""What a deployer paused for approval tells in its interrupt, kept in the result."""


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
