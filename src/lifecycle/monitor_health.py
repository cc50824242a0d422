"""Whether the monitor agent itself works: a watch whose monitor agent raised is kept in
``check_failures`` (kind ``monitor``), and told once; the first watch that works again after it
is kept too (kind ``monitor_ok``), which closes the failure. Pure: the watcher reads the scope's
last mark and writes what ``after_watch`` says.

A scope is the model a watch was for, or ``*`` for a watch of every model.
"""

from __future__ import annotations

from dataclasses import dataclass

FAILED = "monitor"
"""``check_failures.kind`` of a watch whose monitor agent raised."""
RECOVERED = "monitor_ok"
"""``check_failures.kind`` of the first watch that worked after a failed one."""
EVERY_MODEL = "*"
"""The scope of a watch of every model."""

FAILED_EVENT = "monitor_failed"
RECOVERED_EVENT = "monitor_recovered"


@dataclass(frozen=True)
class MonitorMark:
    """What to keep after a watch: a ``check_failures`` row of ``kind`` and, when it is news,
    the audit event ``event`` (which raises the alert)."""

    kind: str
    event: str | None


def scope_of(model_name: str | None) -> str:
    """The scope a watch is kept under: its model, else every model."""
    return (model_name or "").strip() or EVERY_MODEL


def after_watch(last_kind: str | None, error: str | None) -> MonitorMark | None:
    """What a watch that raised ``error`` (None: it worked) keeps, given the scope's last mark
    (None: none yet). A failure is always kept (the evidence) but told only when it is new; a
    working watch writes nothing unless it ends a failure."""
    if error is not None:
        return MonitorMark(FAILED, None if last_kind == FAILED else FAILED_EVENT)
    if last_kind == FAILED:
        return MonitorMark(RECOVERED, RECOVERED_EVENT)
    return None


def failure_summary(scope: str, error: str) -> str:
    """One line for people: which watch failed and why."""
    what = "every model" if scope == EVERY_MODEL else scope
    line = " ".join(error.split()) or "failed"
    return f"the monitor agent failed watching {what}: {line}"[:300]


def recovery_summary(scope: str) -> str:
    what = "every model" if scope == EVERY_MODEL else scope
    return f"the monitor agent works again watching {what}"
