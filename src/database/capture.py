"""Prediction capture in the state database: each model's capture percent (``capture_settings``),
the gateways' capture store (``predictions``, :class:`DbCaptureStore`), retention, and the read
helper the drift, feedback and export code uses (:func:`captured`).

Two gateways on one PostgreSQL database write side by side: request ids are uuids (or the
client's own), and a row whose request id is stored already is skipped, so a retried batch
never duplicates and a collision never fails a batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from database.engine import read_session
from database.models import ModelVersionRow
from database.models_watch import CaptureSettingRow, PredictionRow
from database.quotas import QuotaRepository, trim_capture_quotas
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.capture import (
    PredictionRecord,
    capture_percent,
    feature_rows,
    output_predictions,
    retention_cutoff,
)
from lifecycle.errors import UnknownModelError
from lifecycle.records import utcnow


def set_capture(uow: SqlAlchemyUnitOfWork, model_name: str, percent: Any, actor: str) -> float:
    """Set ``model_name``'s capture percent (0 = off) and audit ``capture_set``, in the caller's
    unit of work (it commits). Raises InvalidCapturePercentError or UnknownModelError and
    changes nothing."""
    value = capture_percent(percent)
    session = uow.session
    known = session.scalar(
        select(ModelVersionRow.model_name).where(ModelVersionRow.model_name == model_name).limit(1)
    )
    if known is None:
        raise UnknownModelError(f"unknown model {model_name!r}")
    row = session.get(CaptureSettingRow, model_name, with_for_update=True)
    if row is None:
        row = CaptureSettingRow(model_name=model_name)
        session.add(row)
    row.percent = value
    row.updated_by = actor
    row.updated_at = utcnow()
    uow.flush()
    state = "on" if value else "off"
    uow.audit.append(
        actor,
        "capture_set",
        model_name,
        {
            "model": model_name,
            "percent": value,
            "summary": f"prediction capture of {model_name} {state} ({value:g}%)",
        },
    )
    return value


def capture_settings(session: Session, model_name: str | None = None) -> list[dict[str, Any]]:
    """The stored settings (every model's, or one's), JSON-ready, by model name."""
    query = select(CaptureSettingRow).order_by(CaptureSettingRow.model_name)
    if model_name is not None:
        query = query.where(CaptureSettingRow.model_name == model_name)
    return [
        {
            "model_name": row.model_name,
            "percent": row.percent,
            "updated_by": row.updated_by,
            "updated_at": row.updated_at.isoformat(),
        }
        for row in session.scalars(query)
    ]


@dataclass(frozen=True, slots=True)
class CapturedPrediction(PredictionRecord):
    """One captured prediction as readers get it.

    ``inputs`` and ``output`` are the request and response JSON as sent (``inputs`` is None
    when the body was not strict JSON); ``features`` is ``inputs`` as one dict per row
    (``lifecycle.capture.feature_rows``: the ``instances`` of ``{"instances": [...]}``; a list
    row named by ``columns`` when given and of the same length, else ``"0"``, ``"1"``, ...;
    a record kept as it is) and ``predictions`` the output's ``predictions`` list (or empty).
    """

    features: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[Any] = field(default_factory=list)


def captured(
    session: Session,
    model_name: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    columns: Sequence[str] | None = None,
) -> list[CapturedPrediction]:
    """``model_name``'s captured predictions with ``since <= captured_at < until``, oldest
    first (with ``limit``: the newest ``limit`` of them, still oldest first). ``columns`` names
    list rows' features (the version's signature columns)."""
    query = select(PredictionRow).where(PredictionRow.model_name == model_name)
    if since is not None:
        query = query.where(PredictionRow.captured_at >= since)
    if until is not None:
        query = query.where(PredictionRow.captured_at < until)
    query = query.order_by(PredictionRow.captured_at.desc(), PredictionRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = list(session.scalars(query))
    rows.reverse()
    out = []
    for row in rows:
        out.append(
            CapturedPrediction(
                row.request_id,
                row.model_name,
                row.version,
                row.deployment_id,
                row.captured_at,
                row.latency_ms,
                row.status,
                row.inputs,
                row.output,
                row.gateway,
                feature_rows(row.inputs, columns),
                output_predictions(row.output),
            )
        )
    return out


class DbCaptureStore:
    """The gateway's capture store port over the state database."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        self.dropping: set[str] = set()
        """Tenants whose captured rows beyond their quota the last round dropped."""

    def percents(self) -> Mapping[str, float]:
        """Each model captured at more than 0 %."""
        with read_session(self.session_factory) as session:
            rows = session.execute(
                select(CaptureSettingRow.model_name, CaptureSettingRow.percent).where(
                    CaptureSettingRow.percent > 0
                )
            ).all()
            return {name: float(percent) for name, percent in rows}

    def store(self, rows: Sequence[PredictionRecord]) -> int:
        """Insert ``rows`` in one transaction, skipping request ids stored already."""
        if not rows:
            return 0
        unique = {row.request_id: row for row in rows}  # one batch never carries an id twice
        with SqlAlchemyUnitOfWork(self.session_factory, "captured predictions") as uow:
            session = uow.session
            known = set(
                session.scalars(
                    select(PredictionRow.request_id).where(PredictionRow.request_id.in_(unique))
                )
            )
            values = [_values(row) for rid, row in unique.items() if rid not in known]
            if values:
                session.execute(_insert_ignoring_duplicates(session), values)
            uow.commit()
        return len(values)

    def apply_retention(self, now: datetime, max_age_seconds: float, max_rows: int) -> int:
        """Per model (indexed on model name and capture time): delete rows older than the
        cutoff, then the rows beyond the newest ``max_rows``."""
        cutoff = retention_cutoff(now, max_age_seconds)
        with read_session(self.session_factory) as session:
            over_quota = QuotaRepository(session).capture_excess()
            if not over_quota and not _anything_to_delete(session, cutoff, max_rows):
                self.dropping.clear()
                return 0  # the usual case: no write lock taken (SQLite) for nothing
        deleted = 0
        with SqlAlchemyUnitOfWork(self.session_factory, "captured predictions") as uow:
            session = uow.session
            models = list(session.scalars(select(PredictionRow.model_name).distinct()))
            for model in models:
                mine = PredictionRow.model_name == model
                old = session.execute(
                    delete(PredictionRow).where(mine, PredictionRow.captured_at < cutoff)
                )
                deleted += _count(old)
                edge = session.execute(
                    select(PredictionRow.captured_at, PredictionRow.id)
                    .where(mine)
                    .order_by(PredictionRow.captured_at.desc(), PredictionRow.id.desc())
                    .offset(max_rows)
                    .limit(1)
                ).first()
                if edge is not None:
                    at, row_id = edge
                    beyond = or_(
                        PredictionRow.captured_at < at,
                        and_(PredictionRow.captured_at == at, PredictionRow.id <= row_id),
                    )
                    deleted += _count(session.execute(delete(PredictionRow).where(mine, beyond)))
            deleted += trim_capture_quotas(uow.quotas, uow.audit, self.dropping)  # per tenant
            uow.commit()
        return deleted


def _anything_to_delete(session: Session, cutoff: datetime, max_rows: int) -> bool:
    for model in session.scalars(select(PredictionRow.model_name).distinct()).all():
        mine = PredictionRow.model_name == model
        old = session.scalar(
            select(PredictionRow.id).where(mine, PredictionRow.captured_at < cutoff).limit(1)
        )
        beyond = session.scalar(
            select(PredictionRow.id)
            .where(mine)
            .order_by(PredictionRow.captured_at.desc(), PredictionRow.id.desc())
            .offset(max_rows)
            .limit(1)
        )
        if old is not None or beyond is not None:
            return True
    return False


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _insert_ignoring_duplicates(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(PredictionRow).on_conflict_do_nothing(
            index_elements=["request_id"]
        )
    return sqlite.insert(PredictionRow).on_conflict_do_nothing(index_elements=["request_id"])


def _values(row: PredictionRecord) -> dict[str, Any]:
    return {
        "request_id": row.request_id,
        "model_name": row.model_name,
        "version": row.version,
        "deployment_id": row.deployment_id,
        "captured_at": row.captured_at,
        "latency_ms": row.latency_ms,
        "status": row.status,
        "inputs": row.inputs,
        "output": row.output,
        "gateway": row.gateway,
    }
