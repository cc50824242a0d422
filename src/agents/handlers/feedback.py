"""Ground truth for captured predictions: recording labels (``deployer feedback import``,
``POST /v1/models/{name}/feedback``) and the watcher's quality judgement.

A batch is all or nothing: a malformed row is refused naming its line (or item) and nothing is
written. The same label again is a no-op; a different label for a labelled request is refused
(``LabelConflictError``) unless ``replace``. A request id no captured prediction of the model has
(not sampled, or not flushed by its gateway yet) is stored all the same, so it joins when the
capture arrives, and reported as ``unmatched``. A request id labelled for another model is
refused. Every batch that changes something appends one ``feedback_recorded`` audit event.

``judge_quality`` (each watch tick) records one ``quality_checks`` row per deployment with
labelled predictions in the window and, on a NEW drop, a ``quality_drop`` audit event, the
alerts' outbox, in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agents.ports import Services
from agents.queries.quality import Assessment, assess
from database.feedback import FeedbackRepository
from database.models_feedback import QualityCheckRow
from lifecycle.errors import BadInputError, UnknownModelError
from lifecycle.feedback_rows import Row, feedback_rows
from lifecycle.quality import (
    QualityVerdict,
    check_batch,
    check_label,
    is_new_drop,
    plan_feedback,
)
from lifecycle.records import utcnow
from lifecycle.stages import LIVE_STATUSES

MAX_FILE_BYTES = 64 * 1024 * 1024
SHOWN_UNMATCHED = 20
"""Unmatched request ids a result lists by name (all are counted)."""


def read_feedback_file(path: Path) -> list[Row]:
    """``(where, request_id, label)`` rows of a CSV file (a header naming ``request_id`` and
    ``label``) or a JSON lines file (``{"request_id": ..., "label": ...}`` a line)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BadInputError(f"{path} is over {MAX_FILE_BYTES // 2**20} MiB; split it")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read {path}: {exc}") from None
    return feedback_rows(text)


def record_feedback(
    c: Services, model_name: str, rows: Iterable[Row], actor: str, replace: bool = False
) -> dict[str, Any]:
    """Store a batch of labels for ``model_name``'s requests (module docstring)."""
    given = check_batch(rows)
    now = utcnow()
    with c.uow() as uow:
        if model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"no model named {model_name!r} is registered")
        feedback = FeedbackRepository(uow.session)
        others = {r: m for r, m in feedback.models_of(given).items() if m != model_name}
        if others:
            first = next(iter(sorted(others)))
            raise BadInputError(
                f"request {first} has a label for model {others[first]}, not {model_name};"
                " nothing was written"
            )
        # JSON may hand 1.0 back as 1: read stored labels the way given ones are read
        stored = {r: check_label(lab, "stored label") for r, lab in feedback.labels(given).items()}
        plan = plan_feedback(given, stored, replace)
        unmatched = sorted(set(given) - feedback.captured(model_name, given))
        feedback.add(model_name, plan.added, actor, now)
        feedback.replace(plan.replaced, actor, now)
        result = {
            "model_name": model_name,
            "added": len(plan.added),
            "replaced": len(plan.replaced),
            "unchanged": len(plan.unchanged),
            "unmatched": len(unmatched),
            "unmatched_request_ids": unmatched[:SHOWN_UNMATCHED],
        }
        if plan.added or plan.replaced:
            summary = describe(result)
            payload = {k: v for k, v in result.items() if k != "unmatched_request_ids"}
            payload |= {"model": model_name, "summary": summary}
            uow.audit.append(actor, "feedback_recorded", model_name, payload)
            uow.commit()
    return result


def describe(result: dict[str, Any]) -> str:
    """A batch's outcome in one line."""
    text = (
        f"{result['model_name']}: {result['added']} labels added, {result['replaced']} replaced,"
        f" {result['unchanged']} unchanged"
    )
    if result["unmatched"]:
        text += f"; {result['unmatched']} without a captured prediction (yet)"
    return text


def import_feedback(
    c: Services, model_name: str, path: Path, actor: str, replace: bool = False
) -> dict[str, Any]:
    """``deployer feedback import NAME FILE``: read the file, then record it as one batch."""
    return record_feedback(c, model_name, read_feedback_file(path), actor, replace)


def judge_quality(c: Services, model_name: str, actor: str) -> list[dict[str, Any]]:
    """Judge each of the model's live deployments with labelled predictions in the window
    (a retired one serves nobody: late labels of its answers raise no alert); record the
    judgements and, for a new drop, a ``quality_drop`` audit event (one commit)."""
    settings = c.settings
    now = utcnow()
    with c.uow() as uow:
        live = {r.deployment_id for r in uow.deployments.list(model_name, LIVE_STATUSES)}
        since = now - timedelta(seconds=settings.quality_window_seconds)
        found = [a for a in assess(uow, settings, model_name, since) if a.deployment_id in live]
        feedback = FeedbackRepository(uow.session)
        for a in found:
            last = feedback.last_conclusive(a.deployment_id)
            previous = QualityVerdict(last.verdict) if last else None
            feedback.add_check(check_row(model_name, a, now))
            if is_new_drop(previous, a.judgement.verdict):
                payload = drop_payload(model_name, a, settings.quality_margin)
                uow.audit.append(actor, "quality_drop", a.deployment_id, payload)
        if found:
            uow.commit()
    return [{"model_name": model_name, **a.to_dict()} for a in found]


def check_row(model_name: str, a: Assessment, now: datetime) -> QualityCheckRow:
    """The ``quality_checks`` row of one assessment."""
    j = a.judgement
    return QualityCheckRow(
        checked_at=now,
        model_name=model_name,
        version=a.version,
        deployment_id=a.deployment_id,
        task=a.task.value if a.task else None,
        metric=j.metric,
        observed=j.observed,
        approved=j.approved,
        labelled=j.labelled,
        verdict=j.verdict.value,
        summary=j.summary,
    )


def drop_payload(model_name: str, a: Assessment, margin: float) -> dict[str, Any]:
    """The ``quality_drop`` event's payload (the alerts read it)."""
    j = a.judgement
    return {
        "model": model_name,
        "version": a.version,
        "deployment_id": a.deployment_id,
        "metric": j.metric,
        "observed": j.observed,
        "approved": j.approved,
        "margin": margin,
        "labelled": j.labelled,
        "summary": f"{model_name} v{a.version} ({a.deployment_id}): {j.summary}",
    }
