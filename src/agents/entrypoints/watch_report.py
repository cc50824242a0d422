"""What ``deployer watch`` reports of a tick: the lines the CLI prints (``agents.entrypoints
.watch``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def skipped_check(model: str, holder: str) -> dict[str, Any]:
    """The report line of a model left alone this tick because ``holder`` is changing it."""
    return {
        "model_name": model,
        "action": "skipped",
        "status": "skipped",
        "message": f"left alone this tick: {holder} is changing it",
    }


def tick_report(
    result: dict[str, Any], holder: str, began: datetime, ended: datetime
) -> dict[str, Any]:
    """One tick as the CLI prints it. ``began`` and ``ended`` are the holder's wall clock around
    the tick, so an operator (or a test) can see that two holders' ticks never overlap."""
    monitor = result.get("monitor") or {}
    return {
        "status": "ticked",
        "holder": holder,
        "tick_id": monitor.get("tick_id"),
        "began_at": began.isoformat(),
        "ended_at": ended.isoformat(),
        "checked_at": monitor.get("checked_at"),
        "elapsed_seconds": result.get("elapsed_seconds"),
        "checks": [
            {
                key: check.get(key)
                for key in (
                    "model_name",
                    "deployment_id",
                    "version",
                    "strategy",
                    "action",
                    "status",
                    "message",
                    "outcome",
                )
            }
            for check in monitor.get("checks", [])
        ],
    }
