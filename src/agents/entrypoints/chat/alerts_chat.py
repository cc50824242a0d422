"""The chat's alert question: "what alerts fired today?", "any alerts in the last 2 hours?",
"show alerts this week". ``alert_window`` reads the window (None: not an alert question);
``answer_alerts`` lists the alerts told in it, one line per alert (an alert told to several
channels is one line, with how each delivery went)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from agents.alerting import AlertServices
from agents.handlers.alerts import alerts_since
from lifecycle.tenant_views import sees_alert
from lifecycle.tenants import Grants

_ALERT = re.compile(r"\balerts?\b", re.I)
_LAST = re.compile(r"\b(?:last|past)\s+(?:(\d{1,4})\s+)?(minute|hour|day|week)s?\b", re.I)
_UNITS = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_NOT_A_QUESTION = re.compile(r"^\s*(?:deployer\s+)?alerts\s+(?:add|remove|test)\b", re.I)


def alert_window(text: str, now: datetime) -> tuple[datetime, str] | None:
    """When an alert question's window starts, and how to say it; None when ``text`` is not
    a question about alerts. Default window: today (since midnight UTC)."""
    if len(text) > 300 or not _ALERT.search(text) or _NOT_A_QUESTION.search(text):
        return None
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if re.search(r"\byesterday\b", text, re.I):
        return midnight - timedelta(days=1), "since yesterday"
    if re.search(r"\bthis week\b", text, re.I):
        return now - timedelta(days=7), "in the last 7 days"
    last = _LAST.search(text)
    if last:
        count, unit = int(last.group(1) or 1), last.group(2).lower()
        plural = "s" if count != 1 else ""
        said = f"in the last {count} {unit}{plural}" if last.group(1) else f"in the last {unit}"
        return now - timedelta(seconds=count * _UNITS[unit]), said
    return midnight, "today"


def answer_alerts(
    c: AlertServices, start: datetime, said: str, grants: Grants
) -> tuple[dict[str, Any], str]:
    """The alerts since ``start`` the asker may read (their tenants' models; the platform's
    too for a platform admin: ``lifecycle.tenant_views``), oldest first, one line each."""
    rows = [r for r in reversed(alerts_since(c, start)) if sees_alert(grants, r["model"])]
    told: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["kind"], row["summary"], row["model"], row["deployment_id"])
        told.setdefault(key, []).append(row)
    if not told:
        return {"alerts": rows}, f"No alerts fired {said}."
    lines = []
    for group in told.values():
        first = group[0]
        states = ", ".join(sorted({r["state"] for r in group}))
        lines.append(
            f"{first['created_at']:%H:%M} [{first['severity']}] {first['summary']} ({states})"
            + (f" \N{EM DASH} {first['action']}" if first["action"] else "")
        )
    noun = "alert" if len(told) == 1 else "alerts"
    return {"alerts": rows}, f"{len(told)} {noun} fired {said}:\n" + "\n".join(lines)
