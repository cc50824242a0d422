"""The unit of work: one transaction; leaving the block without ``commit()`` rolls back.

``commit()`` turns a lost race (an optimistic-version mismatch or a duplicate key) into a
ConflictError, and an unreachable database into an InfrastructureError, always after rolling
back, so nothing is half-written.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from database.repositories import (
    ApprovalRepository,
    AuditLog,
    DeploymentRepository,
    ModelVersionRepository,
    VersionRecordRepository,
)
from lifecycle.errors import ConflictError, InfrastructureError

CONFLICT = (
    "someone else changed {what} at the same time; nothing was written, re-read and try again"
)


class SqlAlchemyUnitOfWork:
    """Repositories over one session, committed together or not at all."""

    models: ModelVersionRepository
    deployments: DeploymentRepository
    version_records: VersionRecordRepository
    approvals: ApprovalRepository
    audit: AuditLog

    def __init__(self, session_factory: sessionmaker[Session], what: str = "this record") -> None:
        self.session_factory = session_factory
        self.what = what
        self.committed = False

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        self.session = self.session_factory()
        self.models = ModelVersionRepository(self.session)
        self.deployments = DeploymentRepository(self.session)
        self.version_records = VersionRecordRepository(self.session)
        self.approvals = ApprovalRepository(self.session)
        self.audit = AuditLog(self.session)
        self.committed = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() ends the transaction (a rollback unless committed) without expiring what was
        # loaded, so rows read in the block stay readable after it.
        self.session.close()
        # Autoflush can surface a lost race inside the block, not only at commit.
        if isinstance(exc, StaleDataError | IntegrityError):
            raise ConflictError(CONFLICT.format(what=self.what)) from exc
        if isinstance(exc, OperationalError):
            raise as_infrastructure_error(exc) from exc

    def flush(self) -> None:
        """Send pending writes now, so that a conflict surfaces before later side effects."""
        self._guarded(self.session.flush)

    def commit(self) -> None:
        self._guarded(self.session.commit)
        self.committed = True

    def rollback(self) -> None:
        self.session.rollback()

    def _guarded(self, action: object) -> None:
        assert callable(action)
        try:
            action()
        except (StaleDataError, IntegrityError) as exc:
            self.session.rollback()
            raise ConflictError(CONFLICT.format(what=self.what)) from exc
        except OperationalError as exc:
            self.session.rollback()
            if _is_lock_conflict(exc):
                raise ConflictError(CONFLICT.format(what=self.what)) from exc
            raise as_infrastructure_error(exc) from exc


def _is_lock_conflict(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "could not serialize" in text or "deadlock" in text


def as_infrastructure_error(exc: DBAPIError) -> InfrastructureError:
    """One readable line for a database that cannot be reached or used."""
    first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return InfrastructureError(f"the state database is unavailable: {first}")
