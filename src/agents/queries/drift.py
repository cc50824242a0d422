"""Drift checks: the serving version's reference against a window of its captured predictions.

``run_check`` reads (reference, captured rows), computes each column's statistics
(``mlops.drift_stats``) and judges them (``lifecycle.drift.judge_drift``). ``drift_report`` is
what ``deployer drift`` and ``GET /v1/models/{name}/drift`` show (nothing written);
``record_drift_checks`` is the watcher's: one ``drift_checks`` row per model serving a version
that has a reference, and an audit ``drift_detected`` event when the verdict is news.

Prediction drift: the output column is compared with the same version's answers in its first
captured window (up to ``DEPLOYER_REFERENCE_MAX_ROWS``), not with predictions
computed on the reference at register: that would load and run the model artefact inside the
control plane, which only ever runs it inside its bento server. A version younger than one
window has no output baseline yet; its output column says so (inconclusive) and the inputs
alone decide.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.ports import Services
from database.drift import DriftRepository
from database.models import DeploymentRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.drift import ColumnVerdict, DriftPolicy, DriftReport, judge_drift
from lifecycle.durations import parse_duration
from lifecycle.errors import RefusedError, UnknownModelError
from lifecycle.records import model_version_id, utcnow
from lifecycle.routing import stable_of
from lifecycle.stages import LIVE_STATUSES
from mlops.drift_stats import column_statistic, frame_statistics

log = logging.getLogger(__name__)

OUTPUT = "prediction"
"""The output column's name in a check."""


class NoReferenceError(RefusedError):
    """The serving version has no reference sample to compare with (nothing was judged)."""


class NotServingError(RefusedError):
    """The model has no live deployment, so nothing it serves can drift."""


def parse_window(text: str) -> float:
    """``30m``, ``1h``, ``2d``, ``90s`` or a number of seconds, as seconds
    (``lifecycle.durations``: any window the API's pattern admits)."""
    return parse_duration(text)


def policy_of(c: Services) -> DriftPolicy:
    """The thresholds the settings give."""
    s = c.settings
    return DriftPolicy(s.drift_alpha, s.drift_psi_threshold, s.drift_min_samples)


@dataclass(frozen=True)
class Check:
    """One check's subject and outcome."""

    model_name: str
    version: str
    deployment_id: str
    window_seconds: float
    report: DriftReport
    reference_rows: int
    current_rows: int
    unreadable_requests: int


def serving_deployment(
    c: Services, uow: SqlAlchemyUnitOfWork, model_name: str
) -> DeploymentRow | None:
    """The live deployment most of a model's users see: the routing table's stable one, else
    the live one with the highest recorded share (ties: the newest)."""
    rows = list(uow.deployments.list(model_name, statuses=LIVE_STATUSES))
    routes = c.router.get_routes(model_name)
    stable = stable_of(routes) if routes is not None and routes.weights else None
    routed = [d for d in rows if d.deployment_id == stable]
    return routed[0] if routed else max(reversed(rows), key=_share, default=None)


def _share(d: DeploymentRow) -> float:
    return float(d.traffic_percentage or 0.0)


def run_check(
    uow: SqlAlchemyUnitOfWork,
    deployment: DeploymentRow,
    window_seconds: float,
    policy: DriftPolicy,
    max_rows: int,
    now: datetime,
) -> Check:
    """Judge the deployment's version: reference vs. the window's captured rows (and outputs
    vs. the version's earlier answers). Raises ``NoReferenceError`` without a reference."""
    model, version = deployment.model_name, deployment.model_version
    drift = DriftRepository(uow.session)
    reference = drift.reference(model_version_id(model, version))
    if reference is None:
        raise NoReferenceError(
            f"{model} v{version} has no drift reference: register a version with "
            "--reference FILE, or log its training data as an MLflow input"
        )
    since = now - timedelta(seconds=window_seconds)
    current = drift.captured_rows(model, version, reference.columns, since)
    stats = frame_statistics(reference.columns, reference.rows, current.rows)
    baseline = first_window_outputs(drift, model, version, reference.columns, window_seconds, since)
    stats.append(column_statistic(OUTPUT, baseline[:max_rows], current.outputs, "output"))
    return Check(
        model,
        version,
        deployment.deployment_id,
        window_seconds,
        judge_drift(stats, policy),
        reference.row_count,
        len(current.rows),
        current.unreadable,
    )


def first_window_outputs(
    drift: DriftRepository,
    model: str,
    version: str,
    columns: list[str],
    window_seconds: float,
    since: datetime,
) -> list[Any]:
    """The output baseline: the version's answers in its first captured window (one window
    from its first capture), when that window ended before the current one began."""
    first = drift.first_captured_at(model, version)
    if first is None:
        return []
    first = first if first.tzinfo else first.replace(tzinfo=UTC)
    until = min(first + timedelta(seconds=window_seconds), since)
    if until <= first:
        return []
    return drift.captured_rows(model, version, columns, first, until).outputs


def check_json(check: Check) -> dict[str, Any]:
    """A check as the CLI (``--json``) and the API give it."""
    return {
        "model_name": check.model_name,
        "version": check.version,
        "deployment_id": check.deployment_id,
        "window_seconds": check.window_seconds,
        "verdict": check.report.verdict.value,
        "drifted": list(check.report.drifted),
        "summary": check.report.summary,
        "reference_rows": check.reference_rows,
        "current_rows": check.current_rows,
        "unreadable_requests": check.unreadable_requests,
        "columns": [column_json(v) for v in check.report.columns],
    }


def column_json(judged: ColumnVerdict) -> dict[str, Any]:
    """One column: its test's statistic and p-values, effect sizes, rows and verdict."""
    col = judged.column
    return {
        "name": col.name,
        "role": col.role,
        "kind": col.kind,
        "statistic": col.statistic,
        "p_value": col.p_value,
        "adjusted_p_value": judged.adjusted_p_value,
        "psi": col.psi,
        "wasserstein": col.wasserstein,
        "reference_rows": col.reference_rows,
        "current_rows": col.current_rows,
        "verdict": judged.verdict.value,
        "reason": judged.reason,
    }


def drift_report(c: Services, model_name: str, window_seconds: float) -> dict[str, Any]:
    """``deployer drift NAME``: the serving version judged now (read only, nothing written)."""
    return drift_report_at(c, model_name, window_seconds, utcnow())


def drift_report_at(
    c: Services, model_name: str, window_seconds: float, now: datetime
) -> dict[str, Any]:
    """The serving version judged over the window that ends at ``now``."""
    with c.reader() as uow:
        if model_name not in uow.models.list_model_names():
            raise UnknownModelError(f"no model named {model_name!r} is registered")
        deployment = serving_deployment(c, uow, model_name)
        if deployment is None:
            raise NotServingError(f"{model_name} has no live deployment to check for drift")
        check = run_check(
            uow, deployment, window_seconds, policy_of(c), c.settings.reference_max_rows, now
        )
    return check_json(check)
