"""The feedback repository: labels by request id, the one join of labels with captured
predictions, and the quality judgements ``deployer watch`` records.

Built over a unit of work's session (``FeedbackRepository(uow.session)``), so its writes commit
with the audit event that goes with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from database.among import among
from database.models_feedback import FeedbackRow, QualityCheckRow
from database.models_watch import PredictionRow
from lifecycle.quality import QualityVerdict

CHUNK = 500
"""Request ids per ``IN (...)`` query (SQLite allows 32,766 parameters; keep statements small)."""


@dataclass(frozen=True)
class LabelledPrediction:
    """A captured answer and the label its request got."""

    deployment_id: str
    version: str
    captured_at: datetime
    output: Any
    label: Any


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class FeedbackRepository:
    """Labels and quality judgements over one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def labels(self, request_ids: Iterable[str]) -> dict[str, Any]:
        """The stored label of each of ``request_ids`` that has one (any model's)."""
        found: dict[str, Any] = {}
        for chunk in _chunks(sorted(set(request_ids))):
            query = select(FeedbackRow.request_id, FeedbackRow.label).where(
                FeedbackRow.request_id.in_(chunk)
            )
            found.update({r: lab for r, lab in self.session.execute(query)})
        return found

    def captured(self, model_name: str, request_ids: Iterable[str]) -> set[str]:
        """Which of ``request_ids`` are captured predictions of ``model_name``."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(request_ids))):
            query = select(PredictionRow.request_id).where(
                PredictionRow.model_name == model_name, PredictionRow.request_id.in_(chunk)
            )
            found.update(self.session.scalars(query))
        return found

    def models_of(self, request_ids: Iterable[str]) -> dict[str, str]:
        """The model each of ``request_ids`` has a label for (to refuse another model's ids)."""
        found: dict[str, str] = {}
        for chunk in _chunks(sorted(set(request_ids))):
            query = select(FeedbackRow.request_id, FeedbackRow.model_name).where(
                FeedbackRow.request_id.in_(chunk)
            )
            found.update({r: m for r, m in self.session.execute(query)})
        return found

    def add(self, model_name: str, labels: Mapping[str, Any], by: str, at: datetime) -> None:
        """Store new labels."""
        if labels:  # one executemany, not an ORM object a label
            self.session.execute(
                insert(FeedbackRow),
                [
                    {
                        "request_id": r,
                        "model_name": model_name,
                        "label": lab,
                        "received_by": by,
                        "received_at": at,
                    }
                    for r, lab in labels.items()
                ],
            )

    def replace(self, labels: Mapping[str, Any], by: str, at: datetime) -> None:
        """Change stored labels (``--replace``)."""
        for chunk in _chunks(sorted(labels)):
            rows = self.session.scalars(
                select(FeedbackRow).where(FeedbackRow.request_id.in_(chunk))
            ).all()
            for row in rows:
                row.label, row.updated_by, row.updated_at = labels[row.request_id], by, at
        self.session.flush()

    def labelled_predictions(
        self, model_name: str, since: datetime, deployment_id: str | None = None
    ) -> list[LabelledPrediction]:
        """The one join: ``model_name``'s predictions captured since ``since`` that answered
        (status 200) and have a label, oldest first (optionally of one deployment)."""
        query = (
            select(
                PredictionRow.deployment_id,
                PredictionRow.version,
                PredictionRow.captured_at,
                PredictionRow.output,
                FeedbackRow.label,
            )
            .join(FeedbackRow, FeedbackRow.request_id == PredictionRow.request_id)
            .where(
                PredictionRow.model_name == model_name,
                FeedbackRow.model_name == model_name,
                PredictionRow.captured_at >= since,
                PredictionRow.status == 200,
            )
            .order_by(PredictionRow.captured_at, PredictionRow.id)
        )
        if deployment_id:
            query = query.where(PredictionRow.deployment_id == deployment_id)
        return [LabelledPrediction(*row) for row in self.session.execute(query)]

    def labelled_models(self, models: Sequence[str], since: datetime) -> set[str]:
        """Which of ``models`` have a labelled, answered prediction captured since ``since``:
        one read for all (a tick over many models then joins only theirs)."""
        query = (
            select(PredictionRow.model_name)
            .join(FeedbackRow, FeedbackRow.request_id == PredictionRow.request_id)
            .where(
                among(self.session, PredictionRow.model_name, models),
                FeedbackRow.model_name == PredictionRow.model_name,
                PredictionRow.captured_at >= since,
                PredictionRow.status == 200,
            )
            .distinct()
        )
        return set(self.session.scalars(query)) if models else set()

    def add_check(self, row: QualityCheckRow) -> QualityCheckRow:
        """Record one quality judgement."""
        self.session.add(row)
        self.session.flush()
        return row

    def last_conclusive(self, deployment_id: str) -> QualityCheckRow | None:
        """The deployment's latest ``ok`` or ``drop`` judgement."""
        query = (
            select(QualityCheckRow)
            .where(
                QualityCheckRow.deployment_id == deployment_id,
                QualityCheckRow.verdict.in_((QualityVerdict.OK.value, QualityVerdict.DROP.value)),
            )
            .order_by(QualityCheckRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()
