"""The alerts of issue 15's monitor agent (``agents.model_monitor``): its audit events, their
groups, and the decision's own words and urgency. ``lifecycle.alerts.RULES`` includes them.

A recorded decision's audit payload carries ``summary`` (one line), ``severity`` (the
decision's: ``info``, ``warning``, ``critical``) and ``decision_id``; an expensive retraining's
carries the ``approval_id`` a person approves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GROUPS: dict[str, str] = {
    "monitor_alert": "monitor",
    "retraining_requested": "retraining",
    "rollback_requested": "rollback",
    "monitor_failed": "monitor",
    "monitor_recovered": "monitor",
    "deployment_resize_failed": "deploy_failed",  # PATCH /v1/deployments/{id} (issue 19)
}
"""Audit action of a monitor decision -> its alert group."""

NEW_GROUPS = ("monitor", "retraining")
"""Alert groups a channel can choose that the monitor agent added."""


def summary(p: Mapping[str, Any], t: Any) -> str:
    """The decision's own summary (``t`` is the alert's ``Target``)."""
    return str(p.get("summary") or f"{t.model}: see deployer decisions {t.model}")


def action(p: Mapping[str, Any], t: Any) -> str:
    """What to run: approve the waiting retraining, see the watcher when the monitor agent
    itself failed, the event's own command when it names one (``act``), else read the
    decisions."""
    approval = p.get("approval_id")
    if p.get("act"):
        return str(p["act"])
    if p.get("check") == "monitor":
        return "deployer status"
    return f"deployer approve {approval}" if approval else f"deployer decisions {t.model}"


def severity(action: str, payload: Mapping[str, Any], default: str) -> str:
    """The severity's name: a monitor decision's own (its payload says), info for the monitor
    agent working again, else ``default``."""
    said = payload.get("severity")
    if action == "monitor_recovered":
        return "INFO"
    if action not in GROUPS or "decision_id" not in payload or not isinstance(said, str):
        return default
    return said.upper() if said.upper() in ("INFO", "WARNING", "CRITICAL") else default
