"""The promote flow: check the move -> (production) gates -> approval -> move -> remember.

Production needs a person's approval: ``await_approval`` pauses the run with ``interrupt()``
and resumes, maybe days later and from another process, with the approver's answer. The only
side effects before the pause are idempotent (the approval row is keyed by the run).
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, interrupt
from pydantic import BaseModel, ConfigDict, ValidationError

from agents.keyed_steps import already_done, once, operation_key
from agents.model_deployer.deps import DeployerDeps, failpoint
from agents.model_deployer.intake import check_answerer
from agents.model_deployer.rollouts import rollout_config
from agents.model_deployer.state import State
from agents.model_deployer.views import production_comparison
from database.models import ApprovalRow, DeploymentRow, ModelVersionRow
from database.protocols import UnitOfWork
from database.services import record_stage_change
from lifecycle.approval import Decision, Role, check_decider
from lifecycle.comparing_gates import ProductionComparison, comparing_gates
from lifecycle.errors import (
    ApprovalMismatchError,
    ConflictError,
    ModelDeployerError,
    ProductionCriteriaNotMetError,
)
from lifecycle.gates import (
    Verdict,
    VerdictStatus,
    overall,
    parse_criterion,
    production_gates,
    unmet,
)
from lifecycle.metrics import ShadowStats
from lifecycle.stages import ModelStage, transition
from lifecycle.strategies import StrategyName
from lifecycle.tenants import tenant_of
from memory import episodes

NEEDS_APPROVAL = frozenset({ModelStage.PRODUCTION})
"""Stages a version enters only with a person's approval."""


class ApprovalAnswer(BaseModel):
    """What resumes a run paused for approval: the approval it answers, and the decision.

    The run takes only an answer to the approval it waits on (the pause names it), so an
    answer meant for an earlier request on the same thread never decides a later one."""

    model_config = ConfigDict(extra="forbid")

    approval_id: str
    decision: Decision
    approver: str
    comment: str = ""


class PromoteNodes:
    """The nodes of the promote flow, over the ports in ``deps``."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps

    def check(self, state: State) -> dict[str, Any]:
        """Refuse an illegal move; for production, run every gate and refuse unless all pass."""
        target = ModelStage(str(state.target_stage))
        version = str(state.version)
        with self.deps.uow() as uow:
            row = uow.models.get(state.model_name, version)
            current = row.model_stage
            transition(current, target)
            deployments = list(uow.deployments.list(row.model_name))
            compared = production_comparison(uow, row)
        # Gates read the metrics source outside the transaction: on SQLite a second connection
        # would wait for this one's write lock.
        verdicts = (
            self._production_verdicts(row, deployments, compared)
            if target in NEEDS_APPROVAL
            else []
        )
        found = [_verdict_dict(v) for v in verdicts]
        if verdicts and overall(verdicts) is not VerdictStatus.PASSED:
            missing = unmet(verdicts)
            self._remember(state, episodes.PROMOTION, current, episodes.REFUSED, missing)
            raise ProductionCriteriaNotMetError(
                f"{state.model_name} v{version} cannot go to production yet: " + "; ".join(missing),
                missing,
            )
        return {"from_stage": current.value, "verdicts": found}

    def _production_verdicts(
        self, row: ModelVersionRow, deployments: list[DeploymentRow], compared: ProductionComparison
    ) -> list[Verdict]:
        """Every gate of a move to production: the version's own (criteria, time in shadow,
        agreement), then those comparing it with production (relative criteria, the shadow's
        latency and errors; ``lifecycle.comparing_gates``)."""
        criteria = [parse_criterion(c) for c in row.criteria]
        shadow = self._shadow_stats(row, deployments)
        policy = self.deps.policy.promotion
        return production_gates(
            metrics={k: float(v) for k, v in row.metrics.items()},
            criteria=criteria,
            entered_shadow_at=row.stage_changed_at if row.stage == ModelStage.SHADOW else None,
            now=self.deps.clock.now(),
            shadow=shadow,
            has_production=compared.production_version is not None,
            policy=policy,
        ) + comparing_gates(
            criteria=criteria,
            comparison=compared,
            shadow=shadow,
            policy=policy,
            error_threshold=rollout_config(self.deps, None).error_rate_threshold,
        )

    def _shadow_stats(self, row: ModelVersionRow, deployments: Any) -> ShadowStats | None:
        """What the gateways compared for this version's shadow deployments, summed."""
        shadows: list[DeploymentRow] = [
            d
            for d in deployments
            if d.model_version == row.version and d.strategy == StrategyName.SHADOW.value
        ]
        if not shadows:
            return None
        return ShadowStats.total(self.deps.metrics.shadow_stats(d.deployment_id) for d in shadows)

    def needs_approval(self, state: State) -> Literal["request_approval", "apply_promotion"]:
        """Production waits for a person; other moves go straight on."""
        if ModelStage(str(state.target_stage)) in NEEDS_APPROVAL:
            return "request_approval"
        return "apply_promotion"

    def request_approval(self, state: State, config: RunnableConfig) -> dict[str, Any]:
        """Record a pending approval naming this run's thread (once per run)."""
        configurable = config.get("configurable", {})
        approval_id = f"apr-{state.run_id[:12]}"

        def act(uow: UnitOfWork) -> dict[str, Any]:
            uow.approvals.add(
                ApprovalRow(
                    approval_id=approval_id,
                    model_name=state.model_name,
                    version=str(state.version),
                    target_stage=str(state.target_stage),
                    action="promote",
                    requested_by=state.requested_by,
                    reason=state.reason,
                    state="pending",
                    thread_id=str(configurable.get("thread_id") or ""),
                    checkpoint_ns=_parent_namespace(str(configurable.get("checkpoint_ns") or "")),
                    run_id=state.run_id,
                )
            )
            uow.audit.append(
                state.requested_by,
                "approval_requested",
                f"{state.model_name}/{state.version}",
                {"approval_id": approval_id, "to": state.target_stage, "reason": state.reason},
            )
            return {"approval_id": approval_id}

        once(self.deps, state.run_id, "request_approval", act)
        return {"approval_id": approval_id, "status": "awaiting_approval"}

    def await_approval(self, state: State) -> Command[Literal["await_approval", "record_decision"]]:
        """Pause until a person answers; an answer that breaks the rules is refused and the run
        waits again (the CLI and API refuse it before resuming, so this is the last guard)."""
        answer = interrupt(
            {
                "approval_id": state.approval_id,
                "model_name": state.model_name,
                "version": state.version,
                "from_stage": state.from_stage,
                "target_stage": state.target_stage,
                "requested_by": state.requested_by,
                "reason": state.reason,
                "verdicts": state.verdicts,
            }
        )
        try:
            parsed = ApprovalAnswer.model_validate(answer)
            _answers(parsed, str(state.approval_id))
            check_answerer(self.deps, parsed.approver)
            approvers = self._approvers(state.model_name)
            check_decider(parsed.decision, parsed.approver, state.requested_by, approvers)
        except (ValidationError, ModelDeployerError) as exc:
            problem = _first_line(exc)
            return Command(
                goto="await_approval",
                update={"errors": [*state.errors, f"approval refused: {problem}"]},
            )
        return Command(goto="record_decision", update={"approval": parsed.model_dump(mode="json")})

    def _approvers(self, model_name: str) -> frozenset[str]:
        """Who holds approver (or admin) in the model's tenant (or on the platform) now, read
        when an answer comes: an approver approves only inside their tenant."""
        with self.deps.uow() as uow:
            return uow.access.holders(Role.APPROVER, tenant_of(model_name))

    def record_decision(self, state: State) -> dict[str, Any]:
        """Move the approval row from pending by compare-and-set (the CLI and the API already
        moved it before resuming: then it must say this very decision), write the audit event,
        and remember it. A row another decision moved first is a ConflictError."""
        answer = ApprovalAnswer.model_validate(state.approval)
        approved = answer.decision is Decision.APPROVE
        now = self.deps.clock.now()
        wanted = "approved" if approved else "rejected"

        def act(uow: UnitOfWork) -> dict[str, Any]:
            approval_id = str(state.approval_id)
            if not uow.approvals.decide(approval_id, wanted, answer.approver, answer.comment, now):
                _decided_as(uow.approvals.get(approval_id), wanted, answer.approver)
            row = uow.approvals.get(approval_id)
            uow.audit.append(
                answer.approver,
                f"approval_{row.state}",
                f"{state.model_name}/{state.version}",
                {"approval_id": row.approval_id, "comment": answer.comment},
            )
            return {"state": row.state}

        once(self.deps, state.run_id, "record_decision", act)
        self._remember_decision(state, answer, approved)
        if approved:
            return {}
        return {
            "status": "rejected",
            "errors": [
                *state.errors,
                f"rejected by {answer.approver}: {answer.comment}".rstrip(": "),
            ],
        }

    def _remember_decision(self, state: State, answer: ApprovalAnswer, approved: bool) -> None:
        self.deps.memory.record_episode(
            state.model_name,
            episodes.APPROVAL,
            {
                "version": state.version,
                "from_stage": state.from_stage,
                "to_stage": state.target_stage,
                "approval_id": state.approval_id,
                "requested_by": state.requested_by,
                "approver": answer.approver,
                "comment": answer.comment,
                "outcome": episodes.SUCCEEDED if approved else episodes.REFUSED,
                "reasons": [] if approved else [f"rejected by {answer.approver}: {answer.comment}"],
            },
            episode_id=operation_key(state.run_id, "approval"),
        )

    def after_decision(self, state: State) -> Literal["apply_promotion", "__end__"]:
        return "__end__" if state.status == "rejected" else "apply_promotion"

    def apply(self, state: State) -> dict[str, Any]:
        """Move the registry, then the database (the registry is put back if the database
        refuses), write the version record and the audit event, and remember it."""
        done = already_done(self.deps, state.run_id, "apply_promotion")
        record = done if done is not None else self._move(state)
        self._remember(
            state, episodes.PROMOTION, ModelStage(str(state.from_stage)), episodes.SUCCEEDED, []
        )
        return {"version_record": record, "status": "promoted"}

    def _move(self, state: State) -> dict[str, Any]:
        """The registry moves outside any transaction (a resumed run moves it again, harmless),
        then the stage is recorded; a refusal puts the registry back where the database has it."""
        target, version = ModelStage(str(state.target_stage)), str(state.version)
        approver = (state.approval or {}).get("approver")
        with self.deps.uow() as uow:
            before = uow.models.get(state.model_name, version).model_stage
        self.deps.registry.set_stage(state.model_name, version, target)
        failpoint("promote.registry_moved")

        def act(uow: UnitOfWork) -> dict[str, Any]:
            record = record_stage_change(
                uow,
                state.model_name,
                version,
                target,
                approver or state.requested_by,
                reason=state.reason,
                approval_id=state.approval_id,
            )
            uow.flush()
            return record.model_dump(mode="json")

        try:
            return once(self.deps, state.run_id, "apply_promotion", act)
        except BaseException:
            self.deps.registry.set_stage(state.model_name, version, before)
            raise

    def _remember(
        self,
        state: State,
        kind: str,
        from_stage: ModelStage,
        outcome: str,
        reasons: list[str],
    ) -> None:
        self.deps.memory.record_episode(
            state.model_name,
            kind,
            {
                "version": state.version,
                "from_stage": from_stage.value,
                "to_stage": state.target_stage,
                "requested_by": state.requested_by,
                "approval_id": state.approval_id,
                "reason": state.reason,
                "outcome": outcome,
                "reasons": reasons,
            },
            episode_id=operation_key(state.run_id, kind),
        )


def _answers(answer: ApprovalAnswer, waiting: str) -> None:
    """Refuse an answer to another approval than the one the run waits on."""
    if answer.approval_id != waiting:
        raise ApprovalMismatchError(
            f"the answer is for {answer.approval_id}, but this run waits on {waiting}"
        )


def _decided_as(row: ApprovalRow, wanted: str, approver: str) -> None:
    """A row no longer pending must already say this decision by this approver."""
    if (row.state, row.approver) != (wanted, approver):
        raise ConflictError(f"approval {row.approval_id} is already {row.state} by {row.approver}")


def _verdict_dict(verdict: Verdict) -> dict[str, Any]:
    return {"gate": verdict.gate, "status": verdict.status.value, "message": verdict.message}


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "answer"
        return f"{where}: {first['msg']}"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _parent_namespace(checkpoint_ns: str) -> str:
    """The namespace of the graph that runs the deployer as a subgraph ("" when it runs alone).

    A node's namespace is ``node:task``; inside a subgraph it is ``parent:task|node:task``.
    """
    return checkpoint_ns.rsplit("|", 1)[0] if "|" in checkpoint_ns else ""
