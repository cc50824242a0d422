"""A retraining's data: a model's captured requests in a window joined with their labels.

The same join as ``FeedbackRepository.labelled_predictions`` (answered requests with a
label), but with the request's id and inputs, which a training file needs, and bounded on both
sides by the run's window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from database.models_feedback import FeedbackRow
from database.models_watch import PredictionRow


@dataclass(frozen=True)
class LabelledRequest:
    """A captured request's id and inputs, and the label it got."""

    request_id: str
    inputs: Any
    label: Any


def labelled_requests(
    session: Session, model_name: str, since: datetime, until: datetime
) -> list[LabelledRequest]:
    """``model_name``'s answered, labelled requests captured in ``[since, until)``, oldest
    first."""
    query = (
        select(PredictionRow.request_id, PredictionRow.inputs, FeedbackRow.label)
        .join(FeedbackRow, FeedbackRow.request_id == PredictionRow.request_id)
        .where(
            PredictionRow.model_name == model_name,
            FeedbackRow.model_name == model_name,
            PredictionRow.captured_at >= since,
            PredictionRow.captured_at < until,
            PredictionRow.status == 200,
        )
        .order_by(PredictionRow.captured_at, PredictionRow.id)
    )
    return [LabelledRequest(*row) for row in session.execute(query)]
