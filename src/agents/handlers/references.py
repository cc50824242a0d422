"""A version's drift reference: read before registering (``--reference FILE``: a bad file is
refused before anything is written), stored in the registering unit of work, or adopted after
registering from the dataset the MLflow run logged as an input.

A version without a reference is never judged for drift (``deployer drift`` says so).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from agents.ports import Services
from database.drift import DriftRepository
from database.models_drift import ReferenceSampleRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.records import model_version_id, utcnow
from mlops.reference_data import (
    ReferenceSample,
    logged_reference,
    read_reference,
    signature_columns,
)

log = logging.getLogger(__name__)


def file_reference(c: Services, model_uri: str, path: str) -> ReferenceSample:
    """Read, check (against the model's signature, when it has one) and sample a reference
    file; a bad one raises ``ReferenceDataError`` with one line."""
    expected = signature_columns(c.settings.tracking_uri, model_uri)
    return read_reference(Path(path).expanduser(), c.settings.reference_max_rows, expected)


def store_reference(
    uow: SqlAlchemyUnitOfWork,
    model_name: str,
    version: str,
    sample: ReferenceSample,
    actor: str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Stage the version's reference (replacing any) and its audit event, in ``uow``."""
    key = model_version_id(model_name, version)
    DriftRepository(uow.session).put_reference(
        ReferenceSampleRow(
            model_version_id=key,
            model_name=model_name,
            version=version,
            source=sample.source,
            columns=list(sample.columns),
            rows=sample.rows,
            row_count=len(sample.rows),
            source_rows=sample.source_rows,
            created_by=actor,
            created_at=at or utcnow(),
        )
    )
    summary = describe_sample(sample)
    uow.audit.append(
        actor, "reference_set", key, {"model": model_name, "version": version, **summary}
    )
    return summary


def adopt_logged_reference(
    c: Services, model_name: str, version: str, run_id: str | None, model_uri: str, actor: str
) -> dict[str, Any] | None:
    """After registering: store the dataset the version's run logged as its input, if any. A
    dataset that cannot be read is logged and left out: the version is registered either way."""
    if not run_id:
        return None
    try:
        expected = signature_columns(c.settings.tracking_uri, model_uri)
        sample = logged_reference(
            c.settings.tracking_uri, run_id, c.settings.reference_max_rows, expected
        )
        if sample is None:
            return None
        with c.uow() as uow:
            summary = store_reference(uow, model_name, version, sample, actor)
            uow.commit()
    except Exception as exc:  # a reference is optional; registration already succeeded
        log.warning(
            "%s v%s: the run's logged dataset was not adopted: %s", model_name, version, exc
        )
        return None
    return summary


def describe_sample(sample: ReferenceSample) -> dict[str, Any]:
    """A reference as status shows it: rows kept, columns, source."""
    return {
        "rows": len(sample.rows),
        "source_rows": sample.source_rows,
        "columns": list(sample.columns),
        "source": sample.source,
    }
