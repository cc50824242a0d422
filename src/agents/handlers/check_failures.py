"""A drift or quality check of the watch that raised, kept as evidence (``check_failures``)
for the monitor agent, which alerts on it (issue 14 only logged it); and the monitor agent's
own failures (``monitor_watched``): kept there too, and alerted through the audit chain, since
an agent that raised cannot alert on itself."""

from __future__ import annotations

import logging
from datetime import datetime

from agents.ports import Services
from database.leases import StaleFenceError
from database.monitor import MonitorRepository, record_failure
from lifecycle.alerts import MONITOR_ACTOR
from lifecycle.monitor_health import (
    FAILED,
    RECOVERED,
    after_watch,
    failure_summary,
    recovery_summary,
    scope_of,
)

log = logging.getLogger(__name__)


def failed(c: Services, model: str, kind: str, exc: BaseException, now: datetime) -> None:
    """Keep ``model``'s failed ``kind`` check; a failure to keep it is logged (a lost lease
    still stops the tick)."""
    try:
        record_failure(c.uow, model, kind, exc, now)
    except StaleFenceError:
        raise
    except Exception:
        log.warning("recording the failed %s check of %s failed", kind, model, exc_info=True)


def monitor_watched(
    c: Services, model_name: str | None, exc: BaseException | None, now: datetime
) -> str | None:
    """After the monitor agent's watch of ``model_name`` (None: every model): keep it in
    ``check_failures`` when it raised ``exc`` (kind ``monitor``) or when it is the first that
    worked after one that raised (kind ``monitor_ok``), with the audit event that alerts
    (``monitor_failed`` once per failure, ``monitor_recovered``), one unit of work. The event
    appended, if any; keeping it may fail too (logged; a lost lease still stops the tick)."""
    scope = scope_of(model_name)
    error = f"{type(exc).__name__}: {exc}" if exc is not None else None
    try:
        with c.uow() as uow:
            repo = MonitorRepository(uow.session)
            mark = after_watch(repo.last_mark(scope, (FAILED, RECOVERED)), error)
            if mark is None:
                return None
            line = failure_summary(scope, error) if error else recovery_summary(scope)
            repo.add_failure(scope, mark.kind, line, now)
            if mark.event is not None:
                payload = {"check": "monitor", "summary": line}
                if model_name:
                    payload["model"] = model_name
                subject = model_name or "monitor"
                uow.audit.append(MONITOR_ACTOR, mark.event, subject, payload)
            uow.commit()
            return mark.event
    except StaleFenceError:
        raise
    except Exception:
        what = "failure" if error else "recovery"
        log.warning("keeping the monitor agent's %s failed", what, exc_info=True)
        return None
