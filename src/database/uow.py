"""The unit of work: one transaction; leaving the block without ``commit()`` rolls back.

``commit()`` turns a lost race (an optimistic-version mismatch or a duplicate key) into a
ConflictError, and an unreachable database into an InfrastructureError, always after rolling
back, so nothing is half-written.

A read-only unit of work (``read_only=True``) is for what is shown or served (status, history,
audit verification): on SQLite it does not take the write lock (see ``database.engine``), and it
refuses to flush or commit with ReadOnlyTransactionError. A decision that leads to a write reads
in the writing unit of work, so that no rival writer can change what it read before it writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from database.access import AccessRepository
from database.engine import read_session
from database.protocols import UnitOfWork
from database.quotas import QuotaRepository
from database.repositories import (
    ApprovalRepository,
    AuditLog,
    DeploymentRepository,
    HealthCheckRepository,
    ModelVersionRepository,
    OperationRepository,
    RolloutRepository,
    VersionRecordRepository,
)
from database.retraining import RetrainingRepository
from database.slo import SloRepository
from lifecycle.errors import ConflictError, InfrastructureError, ModelDeployerError

CONFLICT = (
    "{what} was changed by someone else at the same time; nothing was written"
    " \N{EM DASH} re-read and try again"
)
_UNIQUE_VIOLATION = "23505"
_LOST_RACE = {"40001", "40P01"}  # serialization failure, deadlock detected
_READ_ONLY_TRANSACTION = "25006"


class ReadOnlyTransactionError(ModelDeployerError):
    """Something tried to write in a read-only unit of work: a bug in the caller, not bad input.

    Nothing was written; the caller must use a writing unit of work.
    """

    exit_code = 1


class SqlAlchemyUnitOfWork:
    """Repositories over one session, committed together or not at all.

    ``what`` names the thing a ConflictError is about; services that know it set it
    (``record_stage_change`` sets ``"fraud_detector v2"``). With ``read_only`` it only reads
    (module docstring).
    """

    models: ModelVersionRepository
    deployments: DeploymentRepository
    version_records: VersionRecordRepository
    approvals: ApprovalRepository
    audit: AuditLog
    operations: OperationRepository
    rollouts: RolloutRepository
    health_checks: HealthCheckRepository
    access: AccessRepository
    slo: SloRepository
    retraining: RetrainingRepository
    quotas: QuotaRepository

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        what: str = "this record",
        *,
        read_only: bool = False,
    ) -> None:
        self.session_factory = session_factory
        self.what = what
        self.read_only = read_only
        self.committed = False

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        self.session = self._open_session()
        self.models = ModelVersionRepository(self.session)
        self.deployments = DeploymentRepository(self.session)
        self.version_records = VersionRecordRepository(self.session)
        self.approvals = ApprovalRepository(self.session)
        self.audit = AuditLog(self.session)
        self.operations = OperationRepository(self.session)
        self.rollouts = RolloutRepository(self.session)
        self.health_checks = HealthCheckRepository(self.session)
        self.access = AccessRepository(self.session)
        self.slo = SloRepository(self.session)
        self.retraining = RetrainingRepository(self.session)
        self.quotas = QuotaRepository(self.session)
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
        # Autoflush can surface a lost race or a dead server inside the block, not only at
        # commit: give the caller the same one-line error either way.
        translated = self._translate(exc)
        if translated is not None:
            raise translated from exc

    def flush(self) -> None:
        """Send pending writes now, so that a conflict surfaces before later side effects."""
        self._refuse_if_read_only("flush")
        self._guarded(self.session.flush)

    def commit(self) -> None:
        """Commit everything, or roll it all back and raise ConflictError/InfrastructureError."""
        self._refuse_if_read_only("commit")
        self._guarded(self.session.commit)
        self.committed = True

    def rollback(self) -> None:
        """Throw away everything written in this unit of work so far."""
        self.session.rollback()

    def _open_session(self) -> Session:
        if not self.read_only:
            return self.session_factory()  # the transaction begins at the first statement
        try:
            return read_session(self.session_factory)
        except OperationalError as exc:
            raise as_infrastructure_error(exc) from exc

    def _refuse_if_read_only(self, action: str) -> None:
        if self.read_only:
            self.session.rollback()
            raise ReadOnlyTransactionError(
                f"cannot {action} a read-only unit of work; nothing was written"
            )

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except DBAPIError as exc:
            self._rollback_quietly()
            translated = self._translate(exc)
            if translated is None:
                raise  # a bug (a NOT NULL or foreign key violation): keep the traceback
            raise translated from exc
        except StaleDataError as exc:
            self._rollback_quietly()
            raise ConflictError(CONFLICT.format(what=self.what)) from exc

    def _rollback_quietly(self) -> None:
        # A dead connection can fail the rollback too; the original error is the one to report.
        with contextlib.suppress(DBAPIError):
            self.session.rollback()

    def _translate(self, exc: BaseException | None) -> ModelDeployerError | None:
        """The project error for a database exception, or None to let it through unchanged."""
        if self.read_only and isinstance(exc, DBAPIError) and _refused_write(exc):
            # An autoflush in the block tried to write and the database refused it.
            return ReadOnlyTransactionError(
                "a read-only unit of work tried to write; nothing was written"
            )
        return write_error(exc, self.what)


def write_error(exc: BaseException | None, what: str) -> ModelDeployerError | None:
    """The project error for a failed write of ``what`` (a lost race: ``ConflictError``; an
    unusable database: ``InfrastructureError``), or None to let ``exc`` through unchanged."""
    if isinstance(exc, StaleDataError) or (isinstance(exc, DBAPIError) and _lost_race(exc)):
        return ConflictError(CONFLICT.format(what=what))
    if isinstance(exc, OperationalError):
        return as_infrastructure_error(exc)
    return None


def _lost_race(exc: DBAPIError) -> bool:
    """A duplicate key, a serialization failure or a deadlock: another writer got there first."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(exc, IntegrityError):
        # SQLite has no SQLSTATE; its message is stable ("UNIQUE constraint failed: ...").
        return sqlstate == _UNIQUE_VIOLATION or "UNIQUE constraint failed" in str(exc.orig)
    if sqlstate in _LOST_RACE:
        return True
    text = str(exc.orig).lower()
    return "could not serialize" in text or "deadlock" in text


def _refused_write(exc: DBAPIError) -> bool:
    """The database refused a write because the transaction is read-only."""
    if getattr(exc.orig, "sqlstate", None) == _READ_ONLY_TRANSACTION:
        return True
    return "readonly database" in str(exc.orig).lower()  # SQLite's SQLITE_READONLY


def as_infrastructure_error(exc: DBAPIError) -> InfrastructureError:
    """One readable line for a database that cannot be reached or used."""
    lines = str(exc.orig).strip().splitlines() if exc.orig else []
    first = lines[0] if lines else type(exc).__name__
    return InfrastructureError(f"the state database is unavailable: {first}")


def _conforms(uow: SqlAlchemyUnitOfWork) -> UnitOfWork:
    # Never called: makes mypy prove this class still matches the protocol services accept.
    return uow
