"""Is a rollback's target warm, on the evidence the tick already holds? (pure)

A rollback restores its target by one routing write when the target is warm (active or
draining, its server running and answering), and starts its version again otherwise. Asking
the server's ``/readyz`` costs a new HTTP call on the rollback's critical path (tens to hundreds
of milliseconds on a loaded machine, a model server busy serving every user). The monitor's tick
has better evidence for the usual target, the stable deployment beside a failing canary: the
gateways' own figures of the requests they sent it in their last window, read in the same
snapshot the rollback was judged on. So:

- not active or draining, or its process gone (the cheap PID check): **not warm**;
- taking users' traffic now, and the gateways' fresh window shows it answering them within the
  rollout's error threshold: **warm**, no probe;
- anything else (no traffic routed to it, no fresh figures, errors over the threshold, or too
  few requests to tell): **unknown**, ask ``/readyz`` as before.

The figures are the gateways' freshest (``MetricsSource.metrics``: reports of the last
``fresh_seconds``, a window of recent requests), the same as every gate reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle.metrics import PerformanceMetrics
from lifecycle.stages import WARM_STATUSES, DeploymentStatus

MIN_ANSWERED = 1
"""Requests the target must have answered in the gateways' fresh window to count as serving."""


@dataclass(frozen=True, slots=True)
class TargetEvidence:
    """What the tick knows of a rollback's target when it decides."""

    status: DeploymentStatus
    process_alive: bool
    """The cheap check: its server's process runs (no HTTP call)."""
    routed_percent: float
    """Its users' share in the routing table now (0: it takes no traffic)."""
    window: PerformanceMetrics | None
    """The gateways' fresh figures of it (None: no gateway reported it recently)."""


def warm_on_evidence(evidence: TargetEvidence, max_error_rate: float) -> bool | None:
    """True: warm, restore it by one routing write; False: not warm, start it again; None:
    the evidence cannot tell, probe its server (``/readyz``)."""
    if evidence.status not in WARM_STATUSES or not evidence.process_alive:
        return False
    window = evidence.window
    if evidence.routed_percent <= 0 or window is None:
        return None
    answered = window.request_count - window.error_count
    if answered < MIN_ANSWERED or window.error_rate > max_error_rate:
        return None
    return True
