"""Health from the serving engine: Ray Serve's application status and replica states in, the
deployer's verdict out (issue 17 item 3).

A replica that dies is the engine's to restart: while at least one replica of the application
runs, the gateway's retry on the stable deployment covers the gap, and the deployment is alive
(degraded, said in ``detail``), even if Serve marks the application ``UNHEALTHY`` meanwhile (it
does while a replacement starts). An application that failed to deploy, or is ``UNHEALTHY``
with no replica running, or is gone or being deleted, is a failed endpoint: ``alive`` is false,
so the monitor's existing health check rolls a canary back, and restarts or alerts a stable
deployment, as for a local server whose process died.

Pure: status strings in (Serve's ``ApplicationStatus`` and ``ReplicaState`` names), no Ray.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

SERVING_STATUSES = frozenset({"RUNNING", "UNHEALTHY", "DEPLOYING"})
"""Application statuses under which running replicas answer requests."""
FAILED_STATUSES = frozenset({"DEPLOY_FAILED", "DELETING"})
"""Application statuses that are a failed endpoint whatever runs."""


@dataclass(frozen=True, slots=True)
class EngineVerdict:
    """What the engine's figures mean for one deployment."""

    alive: bool
    """It serves (or can serve) requests: the ``is_alive`` / ``process_alive`` answer."""
    running: int
    """Replicas running now."""
    healthy: bool
    """The engine reports no trouble at all (``Placement.healthy``)."""
    detail: str = ""


def judge_application(
    status: str | None, replica_states: Mapping[str, int], message: str = ""
) -> EngineVerdict:
    """The verdict on an application from its status (None: no such application) and the count
    of its replicas in each state (``{"RUNNING": 2, "STARTING": 1}``)."""
    running = max(0, int(replica_states.get("RUNNING", 0)))
    said = f": {' '.join(message.split())[:300]}" if message.strip() else ""
    if status is None:
        return EngineVerdict(False, 0, False, "no such application on the cluster")
    if status in FAILED_STATUSES:
        return EngineVerdict(False, running, False, f"the application is {status}{said}")
    if status not in SERVING_STATUSES:
        return EngineVerdict(False, running, False, f"the application is {status}{said}")
    if running == 0:
        detail = f"the application is {status} with no replica running{said}"
        return EngineVerdict(False, 0, False, detail)
    if status == "RUNNING":
        return EngineVerdict(True, running, True)
    return EngineVerdict(
        True, running, False, f"the application is {status}, {running} replica(s) running{said}"
    )
