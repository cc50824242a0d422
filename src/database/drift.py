"""Drift's reads and writes: reference samples, drift checks, and the one reader of captured
predictions the drift check uses (``captured_rows``).

``captured_rows`` selects only the ``inputs`` and ``output`` columns of ``predictions`` (the
whole rows of ``database.capture.captured`` cost more) and reads them with capture's own parsers
(``lifecycle.capture.column_rows`` and ``row_outputs``), so a body means the same everywhere.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from database.models_drift import DriftCheckRow, ReferenceSampleRow
from database.models_watch import PredictionRow
from lifecycle.capture import column_rows, row_outputs


@dataclass
class CapturedSample:
    """A window's captured feature rows (reference column order) and outputs, one per row."""

    rows: list[list[Any]] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    requests: int = 0
    unreadable: int = 0
    """Captured requests whose body did not fit the reference's columns (left out)."""


def reference_summary(row: ReferenceSampleRow) -> dict[str, Any]:
    """A stored reference as status shows it: rows kept (and before sampling), columns, source."""
    return {
        "rows": row.row_count,
        "source_rows": row.source_rows,
        "columns": list(row.columns),
        "source": row.source,
    }


class DriftRepository:
    """``reference_samples`` and ``drift_checks``; captured predictions read for a check."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def reference(self, model_version_id: str) -> ReferenceSampleRow | None:
        """A version's reference sample, if it has one."""
        return self.session.get(ReferenceSampleRow, model_version_id)

    def references(self, model_name: str) -> builtins.list[ReferenceSampleRow]:
        """Every version of a model that has a reference sample."""
        query = select(ReferenceSampleRow).where(ReferenceSampleRow.model_name == model_name)
        return list(self.session.scalars(query).all())

    def put_reference(self, row: ReferenceSampleRow) -> ReferenceSampleRow:
        """Store (or replace) a version's reference sample."""
        return self.session.merge(row)

    def add_check(self, row: DriftCheckRow) -> DriftCheckRow:
        """Stage one drift check."""
        self.session.add(row)
        return row

    def last_check(self, model_name: str, version: str) -> DriftCheckRow | None:
        """The newest drift check of a model's version."""
        query = (
            select(DriftCheckRow)
            .where(DriftCheckRow.model_name == model_name, DriftCheckRow.version == version)
            .order_by(DriftCheckRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def checks(self, model_name: str, limit: int = 20) -> builtins.list[DriftCheckRow]:
        """A model's latest drift checks, newest first."""
        query = (
            select(DriftCheckRow)
            .where(DriftCheckRow.model_name == model_name)
            .order_by(DriftCheckRow.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query).all())

    def first_captured_at(self, model_name: str, version: str) -> datetime | None:
        """When the version's first answered request was captured (None: none yet)."""
        query = select(func.min(PredictionRow.captured_at)).where(
            PredictionRow.model_name == model_name,
            PredictionRow.version == version,
            PredictionRow.status == 200,
        )
        return self.session.scalar(query)

    def captured_rows(
        self,
        model_name: str,
        version: str,
        columns: Sequence[str],
        since: datetime,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> CapturedSample:
        """The answered (HTTP 200) captured requests of a model's version captured in
        ``[since, until)`` (the first ``limit`` of them), as feature rows in ``columns`` order
        and their outputs."""
        query = select(PredictionRow.inputs, PredictionRow.output).where(
            PredictionRow.model_name == model_name,
            PredictionRow.version == version,
            PredictionRow.status == 200,
            PredictionRow.captured_at >= since,
        )
        if until is not None:
            query = query.where(PredictionRow.captured_at < until)
        sample = CapturedSample()
        for inputs, output in self.session.execute(query.order_by(PredictionRow.id).limit(limit)):
            sample.requests += 1
            rows = column_rows(inputs, columns)
            if rows is None:
                sample.unreadable += 1
                continue
            sample.rows.extend(rows)
            sample.outputs.extend(row_outputs(output, len(rows)))
        return sample
