"""Prediction capture use cases behind ``deployer capture`` and ``/v1/models/{name}/capture``:
set a model's capture percent, show the settings and what was captured, export to Parquet.

The gateways apply a percent within one capture flush (half a second by default), without a
restart: they read ``capture_settings`` with each flush. ``database.capture`` holds the rows.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from agents.ports import Services
from database.capture import CapturedPrediction, capture_settings, captured, set_capture
from database.models_watch import PredictionRow
from lifecycle.capture import duration_seconds
from lifecycle.errors import BadInputError, InfrastructureError, UnknownModelError
from lifecycle.records import utcnow


def set_capture_percent(c: Services, model_name: str, percent: Any, actor: str) -> dict[str, Any]:
    """Set ``model_name``'s capture percent (0 turns it off); audited ``capture_set``."""
    with c.uow() as uow:
        value = set_capture(uow, model_name, percent, actor)
        uow.commit()
    return {"model_name": model_name, "percent": value, "enabled": value > 0}


def capture_status(c: Services, model_name: str | None = None) -> dict[str, Any]:
    """Each model's percent and captured rows (count, oldest, newest); with ``model_name``,
    that model only (a registered model with no setting is off)."""
    with c.reader() as uow:
        session = uow.session
        if model_name is not None and model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"unknown model {model_name!r}")
        settings = {row["model_name"]: row for row in capture_settings(session, model_name)}
        query = select(
            PredictionRow.model_name,
            func.count(),
            func.min(PredictionRow.captured_at),
            func.max(PredictionRow.captured_at),
        ).group_by(PredictionRow.model_name)
        if model_name is not None:
            query = query.where(PredictionRow.model_name == model_name)
        counts = {row[0]: row[1:] for row in session.execute(query).all()}
    names = sorted({*settings, *counts} | ({model_name} if model_name else set()))
    models = []
    for name in names:
        setting = settings.get(name, {})
        rows, oldest, newest = counts.get(name, (0, None, None))
        models.append(
            {
                "model_name": name,
                "percent": setting.get("percent", 0.0),
                "enabled": bool(setting.get("percent", 0.0)),
                "updated_by": setting.get("updated_by"),
                "updated_at": setting.get("updated_at"),
                "captured": rows,
                "oldest": oldest.isoformat() if oldest else None,
                "newest": newest.isoformat() if newest else None,
            }
        )
    return {"models": models}


def export_rows(predictions: list[CapturedPrediction]) -> list[dict[str, Any]]:
    """One row per prediction: each instance of a request with its own prediction, its
    features as ``input.<name>`` columns, and the request's raw JSON (``inputs_json``,
    ``output_json``); a request without readable instances gives one row with no features."""
    out: list[dict[str, Any]] = []
    for p in predictions:
        base = {
            "request_id": p.request_id,
            "model_name": p.model_name,
            "version": p.version,
            "deployment_id": p.deployment_id,
            "captured_at": p.captured_at,
            "latency_ms": p.latency_ms,
            "status": p.status,
            "gateway": p.gateway,
            "inputs_json": json.dumps(p.inputs),
            "output_json": json.dumps(p.output),
        }
        rows = p.features or [{}]
        for i, features in enumerate(rows):
            row = {**base, "row": i}
            prediction = p.predictions[i] if i < len(p.predictions) else None
            row["prediction"] = json.dumps(prediction) if prediction is not None else None
            row.update({f"input.{k}": v for k, v in features.items()})
            out.append(row)
    return out


def export_capture(
    c: Services, model_name: str, path: Path, since: str | None = None
) -> dict[str, Any]:
    """Write ``model_name``'s captured predictions (those of the last ``since``, e.g. ``1h``;
    all without it) to a Parquet file at ``path``; return the rows and requests written."""
    import pandas as pd

    window = duration_seconds(since) if since is not None else None
    if path.suffix != ".parquet":
        raise BadInputError(f"the export file must end in .parquet, got {str(path)!r}")
    if not path.parent.is_dir():
        raise BadInputError(f"no such folder: {str(path.parent)!r}")
    start = utcnow() - timedelta(seconds=window) if window is not None else None
    with c.reader() as uow:
        if model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"unknown model {model_name!r}")
        predictions = captured(uow.session, model_name, since=start)
    rows = export_rows(predictions)
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if column.startswith("input.") and frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: None if v is None else str(v))
    try:
        frame.to_parquet(path, index=False)
    except OSError as exc:
        raise InfrastructureError(f"could not write {str(path)!r}: {exc}") from exc
    return {
        "model_name": model_name,
        "path": str(path),
        "requests": len(predictions),
        "rows": len(rows),
        "since": since,
    }
