"""The ``operations`` rows (issue 19): the API's long-running requests and their claims.

Built over a unit of work's session (``OperationRepository(uow.session)``), as the feedback
repository is. A worker takes an operation by compare-and-set on ``attempts``: of two API
processes that read the same row, exactly one moves it, so none runs an operation twice at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from database.models_operations import OperationRow
from lifecycle.errors import UnknownOperationError
from lifecycle.operations import CLAIMABLE, OperationStatus


class OperationRepository:
    """Adds, reads, claims and moves ``operations`` rows; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: OperationRow) -> OperationRow:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, operation_id: str) -> OperationRow:
        row = self.session.get(OperationRow, operation_id)
        if row is None:
            raise UnknownOperationError(f"no operation with id {operation_id!r}")
        return row

    def find_by_thread(self, thread_id: str) -> OperationRow | None:
        query = select(OperationRow).where(OperationRow.thread_id == thread_id)
        return self.session.scalars(query.limit(1)).first()

    def claimable(self, now: datetime, stale_seconds: float, limit: int = 10) -> list[OperationRow]:
        """Queued operations, and running ones whose heartbeat is older than
        ``stale_seconds`` (their worker died), oldest first."""
        stale = now - timedelta(seconds=stale_seconds)
        query = (
            select(OperationRow)
            .where(
                or_(
                    OperationRow.status == OperationStatus.QUEUED.value,
                    (OperationRow.status == OperationStatus.RUNNING.value)
                    & or_(OperationRow.heartbeat_at.is_(None), OperationRow.heartbeat_at < stale),
                )
            )
            .order_by(OperationRow.created_at)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def claim(self, row: OperationRow, owner: str, now: datetime) -> bool:
        """Take ``row`` for ``owner`` (status running, fresh heartbeat, one more attempt) only
        if nobody took it since it was read (its ``attempts`` unchanged) and it is still
        claimable. Whether this caller got it."""
        claimed = self.session.execute(
            update(OperationRow)
            .where(
                OperationRow.id == row.id,
                OperationRow.attempts == row.attempts,
                OperationRow.status.in_([s.value for s in CLAIMABLE]),
            )
            .values(
                status=OperationStatus.RUNNING.value,
                owner=owner,
                attempts=row.attempts + 1,
                heartbeat_at=now,
                started_at=row.started_at or now,
            )
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(claimed, "rowcount", 0) == 1)

    def beat(self, operation_id: str, owner: str, now: datetime, node: str, steps: int) -> bool:
        """Refresh the heartbeat and progress of a running operation ``owner`` holds; False
        when it holds it no more (another worker took it up)."""
        moved = self.session.execute(
            update(OperationRow)
            .where(
                OperationRow.id == operation_id,
                OperationRow.owner == owner,
                OperationRow.status == OperationStatus.RUNNING.value,
            )
            .values(heartbeat_at=now, current_node=node, steps_done=steps)
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(moved, "rowcount", 0) == 1)

    def finish(
        self,
        operation_id: str,
        owner: str | None,
        status: OperationStatus,
        now: datetime,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        progress: tuple[str, int] | None = None,
    ) -> bool:
        """Record how the operation ended (or that it waits for an approval), only while
        ``owner`` holds it (None: whoever does, as an approval's answer does); ``progress``
        (node, steps done) where it ended, when the caller followed the run."""
        where = [OperationRow.id == operation_id]
        if owner is not None:
            where.append(OperationRow.owner == owner)
        done = status in (OperationStatus.SUCCEEDED, OperationStatus.FAILED)
        moved_to = {} if progress is None else {"current_node": progress[0][:200]}
        if progress is not None:
            moved_to["steps_done"] = progress[1]  # type: ignore[assignment]
        moved = self.session.execute(
            update(OperationRow)
            .where(*where)
            .values(
                status=status.value,
                result=result,
                error=error,
                heartbeat_at=now,
                finished_at=now if done else None,
                **moved_to,
            )
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(moved, "rowcount", 0) == 1)
