"""Long-running operations (issue 19): accept a request now, run it in the API's worker.

``submit`` judges what can be judged at once (the model, the version, the resources: bad input
changes nothing and is refused before any row is written), then stores a ``queued`` row whose
command any worker can run; ``run`` carries it out on its durable system thread through
``operations.execute`` (or, when a checkpoint exists because a worker died mid-way,
``operations.resume_run``), beating the row's heartbeat with the node the graph runs now, as
its callbacks report it (``agents.progress_events``: exact, never a checkpoint behind); ``show``
is the operation as ``GET /v1/operations/{id}`` returns it. The worker is
``handlers.operation_worker``; the decisions are the pure ``lifecycle.operations``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Collection
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import select

from agents.commands import Approve, Deploy, Promote, Reject, Rollback
from agents.handlers import operations, retraining
from agents.ports import Services
from agents.progress_events import listening
from database.models_operations import OperationRow
from database.operations import OperationRepository
from database.versions import resolve_version
from lifecycle.errors import ModelDeployerError, UnknownModelError
from lifecycle.jsonable import jsonable
from lifecycle.operations import (
    OperationStatus,
    TakeUp,
    abandoned,
    concluded,
    ended_as,
    location,
    take_up,
    typed_error,
)
from lifecycle.records import utcnow

log = logging.getLogger(__name__)

MIN_GAP = 0.2
"""The least time between two progress writes of one operation (a burst of quick nodes is one
write)."""


class Retrain(BaseModel):
    """``POST /v1/models/{name}/retrain`` as an operation: the run (``thread_id``, its id and
    its thread) is named when the request is accepted, so a worker taken up again resumes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["retrain"] = "retrain"
    model_name: str
    reason: str = ""
    since: str | None = None
    thread_id: str | None = None


LongCommand = Promote | Deploy | Rollback | Retrain
COMMANDS: TypeAdapter[LongCommand] = TypeAdapter(
    Annotated[LongCommand, Field(discriminator="kind")]
)


def new_operation_id() -> str:
    return f"op-{uuid.uuid4().hex[:20]}"


def submit(c: Services, command: LongCommand, actor: str) -> dict[str, Any]:
    """Accept ``command`` for ``actor`` as a queued operation; refuse bad input first."""
    check_now(c, command)
    op_id = new_operation_id()
    asked = command.thread_id or op_id
    if isinstance(command, Retrain):  # its own agent's thread, named as its run
        asked = command.thread_id or f"rt-{op_id.removeprefix('op-')[:16]}"
    command = command.model_copy(update={"thread_id": asked})
    thread = asked if isinstance(command, Retrain) else operations.system_thread(asked)
    row = OperationRow(
        id=op_id,
        kind=command.kind,
        subject=command.model_name,
        requested_by=actor,
        thread_id=thread,
        status=OperationStatus.QUEUED.value,
        command=command.model_dump(mode="json"),
        created_at=utcnow(),
    )
    with c.uow() as uow:
        OperationRepository(uow.session).add(row)
        uow.commit()
        return document(row)


def check_now(c: Services, command: LongCommand) -> None:
    """What the API refuses before accepting: an unknown model or version, figures the
    serving backend cannot honour, a retrain without a policy or beside an active run (the
    graph judges everything else, as it always does)."""
    if isinstance(command, Deploy):
        operations.check_resources(c, command)
    with c.reader() as uow:
        if command.model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"no model named {command.model_name!r} is registered")
        if isinstance(command, Deploy | Promote):
            resolve_version(uow.models, command.model_name, command.version)
    if isinstance(command, Retrain):
        retraining.check_retrain(c, command.model_name, command.since)


def show(c: Services, operation_id: str) -> dict[str, Any]:
    """The operation as the API shows it; one waiting for an approval that was answered
    since is brought up to date from its thread first."""
    with c.reader() as uow:
        row = OperationRepository(uow.session).get(operation_id)
        waiting = row.status == OperationStatus.WAITING_APPROVAL.value
        approval = _approval_state(uow, row) if waiting else None
        doc = document(row)
    if approval not in (None, "pending"):
        settle(c, operation_id, row.thread_id, (row.current_node, row.steps_done))
        with c.reader() as uow:
            doc = document(OperationRepository(uow.session).get(operation_id))
    return doc


def answer(c: Services, command: Approve | Reject, actor: str) -> dict[str, Any]:
    """An approval's answer over the API (``operations.execute``), its resumed run followed
    node by node: the operation that waited on it records where the run ended at once."""
    progress = Progress()
    with listening(progress):
        result = operations.execute(c, command, actor, "api")
    status = ended_as(result)
    thread = str(result.get("thread_id") or "")
    if not thread or status is OperationStatus.WAITING_APPROVAL:
        return result
    with c.uow() as uow:
        query = select(OperationRow).where(
            OperationRow.thread_id == thread,
            OperationRow.status == OperationStatus.WAITING_APPROVAL.value,
        )
        repo = OperationRepository(uow.session)
        for row in uow.session.scalars(query).all():
            node, steps = progress.now()
            at = (node or row.current_node, row.steps_done + steps)
            repo.finish(row.id, None, status, utcnow(), jsonable(result), None, at)
        uow.commit()
    return result


def _approval_state(uow: Any, row: OperationRow) -> str | None:
    approval_id = (row.result or {}).get("approval_id")
    if not approval_id:
        return None
    try:
        return str(uow.approvals.get(str(approval_id)).state)
    except ModelDeployerError:
        return None


def settle(
    c: Services, operation_id: str, thread_id: str, paused_at: tuple[str, int] = ("", 0)
) -> None:
    """Record how a thread that waited on an approval ended, once its answer resumed it (the
    nodes a resume runs here are followed as a worker's are; none when the answer's own
    request already finished it: then it stays where it paused)."""
    progress = Progress(paused_at[1])
    progress.started(paused_at[0])
    try:
        with listening(progress):
            result = operations.resume_run(c, thread_id)  # finished: its result as it is
        status, error = ended_as(result), None
    except ModelDeployerError as exc:
        result, status, error = None, OperationStatus.FAILED, error_of(exc)
    if status is OperationStatus.WAITING_APPROVAL:
        return
    with c.uow() as uow:
        OperationRepository(uow.session).finish(
            operation_id, None, status, utcnow(), jsonable(result), error, progress.now()
        )
        uow.commit()


def document(row: OperationRow) -> dict[str, Any]:
    """An ``operations`` row as the API and the CLI show it."""
    result = row.result or {}
    doc: dict[str, Any] = jsonable(
        {
            "operation_id": row.id,
            "kind": row.kind,
            "subject": row.subject,
            "requested_by": row.requested_by,
            "thread_id": row.thread_id,
            "status": row.status,
            "current_node": row.current_node,
            "steps_done": row.steps_done,
            "attempts": row.attempts,
            "created_at": row.created_at,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "heartbeat_at": row.heartbeat_at,
            "manifest": result.get("deployment_manifest"),
            "waiting_for": result.get("waiting_for"),
            "result": row.result,
            "error": row.error,
            "location": location(row.id),
        }
    )
    return doc


def error_of(exc: BaseException) -> dict[str, Any]:
    """A failed operation's typed error (an unexpected one as an infrastructure failure)."""
    if isinstance(exc, ModelDeployerError):
        return typed_error(type(exc).__name__, str(exc), exc.exit_code)
    return typed_error("InfrastructureError", f"{type(exc).__name__}: {exc}", 1)


def claim_next(c: Services, owner: str, limit: int, busy: Collection[str] = ()) -> list[str]:
    """Claim up to ``limit`` operations this worker may run now (compare-and-set each: an
    operation another worker took first is skipped, and so is one this worker runs: ``busy``);
    fail those taken up too often."""
    now, stale = utcnow(), c.settings.operation_stale_seconds
    claimed: list[str] = []
    with c.uow() as uow:
        repo = OperationRepository(uow.session)
        for row in repo.claimable(now, stale, limit + len(busy)):
            if row.id in busy or len(claimed) >= limit:
                continue
            verdict = take_up(row.status, row.heartbeat_at, row.attempts, now, stale)
            if verdict is TakeUp.FAIL:
                failed = abandoned(row.attempts)
                repo.finish(row.id, row.owner, OperationStatus.FAILED, now, None, failed)
            elif verdict is TakeUp.RUN and repo.claim(row, owner, now):
                claimed.append(row.id)
        uow.commit()
    return claimed


def run(c: Services, operation_id: str, owner: str, beat_seconds: float = 1.0) -> None:
    """Carry out a claimed operation to its end or its approval pause, and record it; its
    row shows the node that runs now and the nodes done, as the graph reports them."""
    with c.reader() as uow:
        row = OperationRepository(uow.session).get(operation_id)
        command = COMMANDS.validate_python(row.command)
        actor, thread, done_before = row.requested_by, row.thread_id, row.steps_done
    progress = Progress(done_before)  # a run taken up again goes on from its checkpoint
    stop = threading.Event()
    beating = threading.Thread(
        target=_beat, args=(c, operation_id, owner, progress, stop, beat_seconds), daemon=True
    )
    beating.start()
    try:
        with listening(progress):
            result = _carry_out(c, command, actor, thread)
        status, error = concluded(command.kind, result)
    except Exception as exc:  # recorded on the row: the worker goes on with the next
        if not isinstance(exc, ModelDeployerError):
            log.exception("operation %s failed unexpectedly", operation_id)
        result, status, error = None, OperationStatus.FAILED, error_of(exc)
    finally:
        stop.set()
        progress.moved.set()
        beating.join()
    _record_beat(c, operation_id, owner, progress.now())  # where it ended, exactly
    with c.uow() as uow:
        OperationRepository(uow.session).finish(
            operation_id, owner, status, utcnow(), jsonable(result), error
        )
        uow.commit()


class Progress:
    """A run's node now and nodes done, as its graph reports them (``progress_events``): kept
    in memory by the graph's thread, written by the heartbeat's."""

    def __init__(self, steps_done: int = 0) -> None:
        self._lock = threading.Lock()
        self._node, self._steps = "", steps_done
        self.moved = threading.Event()

    def started(self, node: str) -> None:
        with self._lock:
            self._node = node
        self.moved.set()

    def finished(self, node: str) -> None:
        with self._lock:
            self._steps += 1
        self.moved.set()

    def now(self) -> tuple[str, int]:
        with self._lock:
            return self._node, self._steps


def _carry_out(c: Services, command: LongCommand, actor: str, thread: str) -> dict[str, Any]:
    """Run the command on its thread, or take the thread up from its last checkpoint (a
    retrain: its run, which resumes its own thread)."""
    if isinstance(command, Retrain):
        return retraining.retrain(
            c, command.model_name, actor, command.reason, command.since, run_id=thread
        )
    with c.open_system(actor) as system:
        started = bool(system.snapshot(thread).get("request"))
    if started:
        return operations.resume_run(c, thread)
    return operations.execute(c, command, actor, "api")


def _beat(
    c: Services,
    operation_id: str,
    owner: str,
    progress: Progress,
    stop: threading.Event,
    every: float,
) -> None:
    """Move the heartbeat at once, then whenever the run moves to another node (at most every
    ``MIN_GAP`` seconds) and at least every ``every`` seconds, until ``stop``."""
    _record_beat(c, operation_id, owner, progress.now())
    while not stop.is_set():
        progress.moved.wait(every)
        progress.moved.clear()
        if stop.is_set():
            return
        _record_beat(c, operation_id, owner, progress.now())
        stop.wait(MIN_GAP)


def _record_beat(c: Services, operation_id: str, owner: str, at: tuple[str, int]) -> None:
    node, steps = at
    try:
        with c.uow() as uow:
            repo = OperationRepository(uow.session)
            repo.beat(operation_id, owner, utcnow(), node[:200], steps)
            uow.commit()
    except Exception:  # a beat missed is no failure of the operation
        log.warning("operation %s: could not record its heartbeat", operation_id, exc_info=True)
