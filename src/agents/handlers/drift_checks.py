"""The watcher's drift checks: one ``drift_checks`` row per model serving a version that has a
reference, and an audit ``drift_detected`` event (the alerts' outbox) when the verdict is news
(``lifecycle.drift.is_new_drift``: a drift after none, or one more column drifting). A check
that raises is kept in ``check_failures`` (``failed``), which the monitor agent alerts on.

The statistics are computed in a read-only unit of work; the row and the event are written in a
short one that re-reads the previous check, so a check never holds SQLite's write lock while it
computes. A model whose check fails is logged and skipped: drift never breaks a tick.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from agents.handlers.check_failures import failed
from agents.ports import Services
from agents.queries.drift import (
    Check,
    NoReferenceError,
    column_json,
    policy_of,
    run_check,
    serving_deployment,
)
from database.drift import DriftRepository
from database.leases import StaleFenceError
from database.models_drift import DriftCheckRow
from lifecycle.drift import is_new_drift
from lifecycle.records import utcnow
from lifecycle.stages import LIVE_STATUSES

log = logging.getLogger(__name__)


def record_drift_checks(
    c: Services, checked_by: str, model_name: str = "", now: datetime | None = None
) -> list[dict[str, Any]]:
    """Check every model with a live deployment (or ``model_name``); one summary per check."""
    now = now or utcnow()
    with c.reader() as uow:
        live = uow.deployments.list(model_name or None, statuses=LIVE_STATUSES)
        names = sorted({d.model_name for d in live})
    done = []
    for name in names:
        try:
            found = check_model(c, name, checked_by, now)
        except StaleFenceError:
            raise  # the watcher lost its lease: the tick stops here, as every write does
        except Exception as exc:
            log.exception("the drift check of %s failed; the tick goes on", name)
            failed(c, name, "drift", exc, now)
            continue
        if found is not None:
            done.append(found)
    return done


def check_model(
    c: Services, model_name: str, checked_by: str, now: datetime
) -> dict[str, Any] | None:
    """Judge one model's serving version and record it; None when it has no reference."""
    window = c.settings.drift_window_seconds
    with c.reader() as uow:
        deployment = serving_deployment(c, uow, model_name)
        if deployment is None:
            return None
        try:
            check = run_check(
                uow, deployment, window, policy_of(c), c.settings.reference_max_rows, now
            )
        except NoReferenceError:
            return None
    alerted = record(c, check, checked_by, now)
    return {
        "model_name": check.model_name,
        "version": check.version,
        "verdict": check.report.verdict.value,
        "drifted": list(check.report.drifted),
        "summary": check.report.summary,
        "alerted": alerted,
    }


def record(c: Services, check: Check, checked_by: str, now: datetime) -> bool:
    """Write the check's row, and ``drift_detected`` when it is news; whether it was."""
    with c.uow() as uow:
        drift = DriftRepository(uow.session)
        previous = drift.last_check(check.model_name, check.version)
        news = is_new_drift(tuple(previous.drifted) if previous else None, check.report)
        drift.add_check(
            DriftCheckRow(
                model_name=check.model_name,
                version=check.version,
                deployment_id=check.deployment_id,
                checked_at=now,
                checked_by=checked_by,
                window_seconds=check.window_seconds,
                verdict=check.report.verdict.value,
                drifted=list(check.report.drifted),
                current_rows=check.current_rows,
                reference_rows=check.reference_rows,
                columns=[column_json(v) for v in check.report.columns],
                summary=check.report.summary,
            )
        )
        if news:
            uow.audit.append(
                c.settings.user,
                "drift_detected",
                check.deployment_id,
                {
                    "model": check.model_name,
                    "version": check.version,
                    "deployment_id": check.deployment_id,
                    "features": list(check.report.drifted),
                    "summary": f"{check.model_name} v{check.version}: {check.report.summary}",
                },
            )
        uow.commit()
    return news
