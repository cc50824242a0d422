"""A drift or quality check of the watch that raised, kept as evidence (``check_failures``)
for the monitor agent, which alerts on it (issue 14 only logged it)."""

from __future__ import annotations

import logging
from datetime import datetime

from agents.ports import Services
from database.leases import StaleFenceError
from database.monitor import record_failure

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
