"""Deciding an expensive retraining's approval (an ``approvals`` row with action ``retrain``,
``run_id`` the run, opened by ``RetrainingRepository.await_approval``).

Four eyes as for a promotion (``lifecycle.approval.check_decider``: the approver holds the
role and did not ask; the requester may withdraw with a rejection). The row moves from pending
by compare-and-set in the same unit of work as the run: approve -> the run is ``requested``
(the watcher's ``run_requested`` runs it), reject -> ``rejected``; nothing else changes.
"""

from __future__ import annotations

from typing import Any

from agents.ports import Services
from lifecycle.approval import Decision, Role, check_decider
from lifecycle.errors import ConflictError
from lifecycle.records import utcnow
from lifecycle.retraining import RunStatus
from lifecycle.tenants import tenant_of


def decide_retraining(
    c: Services, approval_id: str, actor: str, verdict: Decision, comment: str = ""
) -> dict[str, Any]:
    state = "approved" if verdict is Decision.APPROVE else "rejected"
    now = utcnow()
    with c.uow() as uow:
        row = uow.approvals.get(approval_id)
        approvers = uow.access.holders(Role.APPROVER, tenant_of(row.model_name))  # its tenant's
        check_decider(verdict, actor, row.requested_by, approvers)
        run = uow.retraining.run(str(row.run_id))
        if run is None or run.status != RunStatus.AWAITING_APPROVAL.value:
            shown = run.status if run is not None else "gone"
            raise ConflictError(f"retraining run {row.run_id} is {shown}: nothing changed")
        if not uow.approvals.decide(approval_id, state, actor, comment, now):
            again = uow.approvals.get(approval_id)
            raise ConflictError(
                f"approval {approval_id} was {again.state} by {again.approver} first: "
                "your decision changed nothing"
            )
        if verdict is Decision.APPROVE:
            run.status = RunStatus.REQUESTED.value  # still active: the model's one slot
        else:
            uow.retraining.set_status(run, RunStatus.REJECTED, now, f"rejected by {actor}")
        uow.audit.append(
            actor,
            f"approval_{state}",
            run.model_name,
            {
                "model": run.model_name,
                "approval_id": approval_id,
                "run_id": run.id,
                "comment": comment,
                "summary": f"{actor} {state} retraining {run.model_name} (run {run.id})",
            },
        )
        uow.commit()
        return {
            "status": run.status,
            "retraining_run_id": run.id,
            "approval": {"approval_id": approval_id, "state": state, "approver": actor},
        }
