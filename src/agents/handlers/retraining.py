"""Retraining runs as people and the watcher start them.

``retrain`` is ``deployer retrain NAME`` (and ``POST /v1/models/{name}/retrain``, and the
chat's "retrain iris"): a deployer opens a manual run (a person asking is the approval: no
approval step even when the policy says training is expensive), the RetrainingAgent runs it on
its own thread (the thread id is the run's id), and a handed-over version's handoffs are
followed through the deployer (``follow_handoffs``: staging, shadow, a shadow deploy, in
order, stopping at the first that does not succeed; never production). ``run_requested`` is
the watcher's worker: it runs the runs the monitor opened (or an approval released), one at a
time per model. A run cut short while active (its process died) has a stale heartbeat: the
worker resumes it from its checkpoint, a few times at most, then fails it and frees the model
(``take_up_stalled``; ``lifecycle.retraining_stall``); ``resume_by_hand`` is ``deployer
retraining resume RUN_ID``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from agents.commands import Deploy, Promote
from agents.handlers import operations
from agents.handlers.retraining_policy import require_deployer
from agents.ports import Services
from database.retraining import RetrainingInProgressError
from lifecycle.alerts import MONITOR_ACTOR
from lifecycle.durations import parse_duration
from lifecycle.errors import BadInputError, ConflictError, ModelDeployerError, UnknownModelError
from lifecycle.handoff import AgentName, Handoff
from lifecycle.records import utcnow
from lifecycle.retraining import RunStatus, Trigger
from lifecycle.retraining_stall import RunProgress, StallAction, StallVerdict, judge_stall

log = logging.getLogger(__name__)


def retrain(
    c: Services,
    model: str,
    actor: str,
    reason: str = "",
    since: str | None = None,
    follow: bool = True,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Open a manual retraining run of ``model`` for ``actor`` and run it to the end; a
    RetrainingInProgressError (409) when one is active. Follows the handoffs unless ``follow``
    is off (the supervisor routes them itself). ``run_id`` names the run (an operation's, so
    its worker taken up again after a crash resumes that run rather than opening another)."""
    window = parse_duration(since) if since else None  # bad input before anything is written
    run_id = run_id or f"rt-{uuid.uuid4().hex[:16]}"
    now = utcnow()
    with c.uow() as uow:
        require_deployer(uow, actor, "retrain a model", model)
        opened = uow.retraining.run(run_id)
        if opened is None:
            _require_policy(uow, model)
            uow.retraining.open_run(run_id, model, Trigger.MANUAL, actor, now, reason)
            uow.commit()
        else:
            now = opened.requested_at
    request: dict[str, Any] = {"model_name": model, "trigger": "manual", "reason": reason}
    if window is not None:
        request["data_since"] = (now - timedelta(seconds=window)).isoformat()
    return run_retraining(c, run_id, actor, request, follow)


def check_retrain(c: Services, model: str, since: str | None) -> None:
    """What a retrain refuses before it is accepted (an API operation): a bad window, no
    policy, a run of the model already active. Nothing is written."""
    if since:
        parse_duration(since)
    with c.reader() as uow:
        _require_policy(uow, model)
        active = uow.retraining.active_run(model)
        if active is not None:
            raise RetrainingInProgressError(
                f"{model} is already being retrained (run {active.id}, {active.status})"
            )


def _require_policy(uow: Any, model: str) -> None:
    if uow.retraining.policy(model) is None:
        from agents.retraining.intake import NoRetrainingPolicyError

        raise NoRetrainingPolicyError(
            f"{model} has no retraining policy; set one with deployer retraining set "
            f"{model} --project PATH"
        )


def run_retraining(
    c: Services, run_id: str, actor: str, request: dict[str, Any], follow: bool = True
) -> dict[str, Any]:
    """Run the agent on run ``run_id`` (resuming its thread if it stopped half-way)."""
    with c.open_retraining(actor) as agent:
        result = agent.run({**request, "retraining_run_id": run_id, "requested_by": actor}, run_id)
    if follow and result["status"] == RunStatus.HANDED_OVER.value:
        result["followed"] = follow_handoffs(c, result["handoffs"], actor)
    return result


def follow_handoffs(
    c: Services, handoffs: Sequence[Handoff | dict[str, Any]], actor: str
) -> list[dict[str, Any]]:
    """Carry out the deployer handoffs in order through ``operations.execute``, stopping at
    the first that does not succeed (refused, failed, or waiting for approval). What each did.
    Each goes to the supervisor like any request (source ``schedule``: the retraining's)."""
    done: list[dict[str, Any]] = []
    for item in handoffs:
        handoff = item if isinstance(item, Handoff) else Handoff.model_validate(item)
        if handoff.to is not AgentName.DEPLOYER:
            continue
        try:
            outcome = operations.execute(c, command_of(handoff), actor, "schedule")
        except ModelDeployerError as exc:
            done.append({"request": handoff.request, "status": "refused", "error": str(exc)})
            break
        done.append({"request": handoff.request, "status": outcome.get("status")})
        if outcome.get("status") not in ("promoted", "deployed"):
            break
    return done


def command_of(handoff: Handoff) -> Promote | Deploy:
    """The deployer command a handoff asks for (promote or deploy; never production)."""
    r = handoff.request
    base = {"model_name": str(r["model_name"]), "version": str(r["version"])}
    reason = str(r.get("reason") or handoff.reason)
    if r.get("action") == "promote":
        if r.get("target_stage") == "production":
            raise BadInputError("a retraining handoff never promotes to production")
        return Promote(**base, target_stage=str(r["target_stage"]), reason=reason)
    if r.get("action") == "deploy":
        traffic = r.get("traffic")
        return Deploy(
            **base,
            strategy=str(r.get("strategy") or "shadow"),
            traffic=float(traffic) if isinstance(traffic, int | float) else None,
            reason=reason,
        )
    raise BadInputError(f"the deployer cannot do {r.get('action')!r}")


def run_requested(c: Services, follow: bool = True) -> list[dict[str, Any]]:
    """Run every ``requested`` run (the monitor's, or one an approval released), oldest first,
    one at a time per model (at most one run of a model is active anyway). What each did; a
    run that fails is reported and the others still run."""
    with c.reader() as uow:
        waiting = [
            (r.id, r.model_name, r.trigger, r.requested_by, r.reason)
            for r in reversed(uow.retraining.runs(limit=200))
            if r.status == RunStatus.REQUESTED.value
        ]
    results = []
    for run_id, model, trigger, requested_by, reason in waiting:
        request = {"model_name": model, "trigger": trigger, "reason": reason}
        try:
            results.append(run_retraining(c, run_id, requested_by, request, follow))
        except ModelDeployerError as exc:
            results.append({"retraining_run_id": run_id, "status": "failed", "errors": [str(exc)]})
    return results


class BackgroundRetrainer:
    """``deployer watch``'s retraining worker: a thread that takes up the runs cut short
    (``take_up_stalled``) and runs ``run_requested`` after each tick it is woken for (and every
    ``interval`` seconds), so training never stalls a canary's ticks. A run that raises is
    logged; the worker goes on."""

    def __init__(self, c: Services, interval: float) -> None:
        self.c, self.interval = c, interval
        self.stopping, self.woken = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._loop, name="retraining", daemon=True)

    def wake(self) -> None:
        self.woken.set()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.woken.wait(self.interval)
            self.woken.clear()
            if self.stopping.is_set():
                return
            try:
                for result in [*take_up_stalled(self.c), *run_requested(self.c)]:
                    log.info(
                        "retraining run %s: %s", result.get("retraining_run_id"), result["status"]
                    )
            except Exception:  # the worker outlives one bad pass
                log.exception("the retraining worker failed a pass")

    def stop(self, timeout: float) -> None:
        self.stopping.set()
        self.woken.set()
        self.thread.join(timeout)


@contextmanager
def retraining_worker(c: Services, interval: float = 30.0) -> Iterator[BackgroundRetrainer]:
    """Run the retraining worker in the background while the block runs (a run in progress
    is let finish, up to its own end, when the block ends)."""
    worker = BackgroundRetrainer(c, interval)
    worker.thread.start()
    try:
        yield worker
    finally:
        worker.stop(timeout=600)


def record_deferred(c: Services, handoffs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The work a tick's agents handed to a deferred agent (a retraining, which may take longer
    than a tick): each retraining without a run gets a ``requested`` run, which the retraining
    worker takes up outside the tick; one that names its run is recorded already."""
    recorded = []
    for handoff in handoffs:
        request = handoff.get("request") or {}
        model, run_id = str(request.get("model_name") or ""), request.get("retraining_run_id")
        if handoff.get("to") != "retraining" or not model:
            continue
        if not run_id:
            run_id = f"retrain-{uuid.uuid4().hex[:12]}"
            trigger = Trigger(str(request.get("trigger") or Trigger.DRIFT.value))
            try:
                with c.uow() as uow:
                    uow.retraining.open_run(
                        run_id, model, trigger, "monitor", utcnow(), str(handoff.get("reason"))
                    )
                    uow.commit()
            except RetrainingInProgressError as exc:
                log.info("retraining of %s not requested again: %s", model, exc)
                continue
        recorded.append({"model_name": model, "retraining_run_id": run_id, "to": "retraining"})
    return recorded


def progress_of(row: Any) -> RunProgress:
    """The decision's view of a ``retraining_runs`` row."""
    return RunProgress(
        status=row.status,
        requested_at=row.requested_at,
        started_at=row.started_at,
        progress_at=row.progress_at,
        resume_attempts=row.resume_attempts or 0,
    )


def take_up_stalled(c: Services, follow: bool = True) -> list[dict[str, Any]]:
    """The worker's pass over the active runs: each one cut short (no progress for
    ``DEPLOYER_RETRAINING_STALE_SECONDS``) is resumed from its checkpoint, or failed (audited
    ``retraining_stalled``, an alert; the model is free) once it was resumed
    ``DEPLOYER_RETRAINING_RESUME_ATTEMPTS`` times. What each became."""
    settings, now = c.settings, utcnow()
    with c.reader() as uow:
        found = [(r.id, progress_of(r)) for r in uow.retraining.active_runs()]
    results = []
    for run_id, progress in found:
        verdict = judge_stall(
            progress, now, settings.retraining_stale_seconds, settings.retraining_resume_attempts
        )
        if verdict.action is StallAction.RESUME:
            attempts = progress.resume_attempts
            results.append(_resume(c, run_id, MONITOR_ACTOR, verdict, attempts, follow))
        elif verdict.action is StallAction.FAIL:
            results.append(_fail_stalled(c, run_id, verdict, progress.resume_attempts))
    return results


def resume_by_hand(
    c: Services, run_id: str, actor: str, force: bool = False, follow: bool = True
) -> dict[str, Any]:
    """``deployer retraining resume RUN_ID``: ``actor`` (a deployer) takes up an active run cut
    short, from its checkpoint. A ConflictError when it is not running, or made progress
    within the stale time (it may still be running elsewhere) unless ``force``."""
    with c.reader() as uow:
        row = uow.retraining.run(run_id)
        if row is None:
            raise UnknownModelError(f"there is no retraining run {run_id}")
        require_deployer(uow, actor, "resume a retraining run", row.model_name)
        progress = progress_of(row)
    stale = 0.0 if force else c.settings.retraining_stale_seconds
    verdict = judge_stall(progress, utcnow(), stale, None)
    if verdict.action is not StallAction.RESUME:
        hint = (
            "; --force takes it up anyway" if progress.status in ("running", "evaluating") else ""
        )
        raise ConflictError(f"retraining run {run_id} is not resumed: {verdict.reason}{hint}")
    return _resume(c, run_id, actor, verdict, progress.resume_attempts, follow)


def _resume(
    c: Services, run_id: str, actor: str, verdict: StallVerdict, attempts: int, follow: bool
) -> dict[str, Any]:
    """Claim the run (compare and set on its attempts), audit ``retraining_resumed``, run it
    on from its checkpoint as whoever asked for it."""
    with c.uow() as uow:
        row = uow.retraining.run(run_id)
        if row is None or not uow.retraining.claim_resume(run_id, attempts, utcnow()):
            return {"retraining_run_id": run_id, "status": "taken", "errors": []}
        model, requested_by = row.model_name, row.requested_by
        request = {"model_name": model, "trigger": row.trigger, "reason": row.reason}
        summary = f"{model}'s retraining run {run_id} resumed: {verdict.reason}"
        payload = {"model": model, "run_id": run_id, "attempt": attempts + 1, "summary": summary}
        uow.audit.append(actor, "retraining_resumed", model, payload)
        uow.commit()
    log.warning("%s", summary)
    try:
        return run_retraining(c, run_id, requested_by, request, follow)
    except ModelDeployerError as exc:
        return {"retraining_run_id": run_id, "status": "failed", "errors": [str(exc)]}


def _fail_stalled(c: Services, run_id: str, verdict: StallVerdict, attempts: int) -> dict[str, Any]:
    """Fail a run resumed often enough (unless someone moved it since it was read), free its
    model, audit ``retraining_stalled``."""
    with c.uow() as uow:
        row = uow.retraining.run(run_id)
        if row is None or row.active_model is None or (row.resume_attempts or 0) != attempts:
            return {"retraining_run_id": run_id, "status": "taken", "errors": []}
        model = row.model_name
        uow.retraining.set_status(row, RunStatus.FAILED, utcnow(), verdict.reason)
        summary = f"{model}'s retraining run {run_id} failed: {verdict.reason}"
        payload = {"model": model, "run_id": run_id, "summary": summary}
        uow.audit.append(MONITOR_ACTOR, "retraining_stalled", model, payload)
        uow.commit()
    log.warning("%s", summary)
    return {"retraining_run_id": run_id, "status": "failed", "errors": [verdict.reason]}
