"""Per-deployment request figures: a sliding window and totals, cheap enough for every request.

Latency goes into the log-scale histograms of :mod:`lifecycle.latency`. The window is a queue of
one-second slots with running sums beside it: recording adds to both, a slot that leaves the
window is subtracted, so a read costs O(buckets), not O(slots x buckets).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.latency import BUCKETS, bucket_of, quantile, sparse
from lifecycle.metrics import PerformanceMetrics


@dataclass(slots=True)
class _Slot:
    """One second of one deployment's requests (latency sparse: bucket -> count)."""

    second: int
    requests: int = 0
    errors: int = 0
    latency: dict[int, int] = field(default_factory=dict)


PROMETHEUS_BUCKETS_MS = (0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
"""Upper bounds of the ``/metrics`` latency histogram (ms to seconds; +Inf after them)."""


@dataclass(slots=True)
class DeploymentStats:
    """Requests, errors and latency of one deployment: totals and the last ``window_seconds``.

    The window keeps running sums: a request is added to them when recorded, and a second's
    slot is subtracted when it leaves the window, so reading it is O(buckets), whatever the
    window's length. ``prometheus_buckets``/``latency_sum_ms`` are the totals ``/metrics``
    exposes as a histogram (cumulative, so replicas add up)."""

    deployment_id: str
    model_name: str
    window_seconds: int = 60
    clock: Callable[[], float] = time.monotonic
    requests: int = 0
    errors: int = 0
    retried: int = 0
    hedged: int = 0
    """Requests also sent to the stable deployment because this one had not answered in time."""
    latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    prometheus_buckets: list[int] = field(
        default_factory=lambda: [0] * (len(PROMETHEUS_BUCKETS_MS) + 1)
    )
    latency_sum_ms: float = 0.0
    started: float = 0.0
    recorded_at: float = 0.0
    _slots: deque[_Slot] = field(default_factory=deque)
    _window_requests: int = 0
    _window_errors: int = 0
    _window_latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    _idle: tuple[tuple[int, int, int], dict[str, Any]] | None = None
    """The last snapshot, kept while it cannot change: taken with an empty, whole window, it
    is the same until the next request (a table of 1,000 models is mostly idle deployments,
    each flushed every couple of seconds)."""

    def __post_init__(self) -> None:
        self.started = self.recorded_at = self.clock()

    def _expire(self, now: int) -> None:
        """Subtract the slots that left the window (those of seconds <= now - window)."""
        slots, oldest = self._slots, now - self.window_seconds
        while slots and slots[0].second <= oldest:
            slot = slots.popleft()
            self._window_requests -= slot.requests
            self._window_errors -= slot.errors
            latency = self._window_latency
            for index, n in slot.latency.items():
                latency[index] -= n

    def record(self, ms: float, error: bool) -> None:
        """Count one request that took ``ms`` milliseconds (an error if ``error``)."""
        index = bucket_of(ms)
        now = self.clock()
        self.recorded_at = now
        second = int(now)
        slots = self._slots
        if slots and slots[-1].second >= second:
            slot = slots[-1]  # this second's (a clock that steps back counts in the newest)
        else:
            self._expire(second)
            slot = _Slot(second)
            slots.append(slot)
        slot.requests += 1
        slot.latency[index] = slot.latency.get(index, 0) + 1
        self._window_requests += 1
        self._window_latency[index] += 1
        self.requests += 1
        self.latency[index] += 1
        self.prometheus_buckets[bisect_left(PROMETHEUS_BUCKETS_MS, ms)] += 1
        self.latency_sum_ms += ms
        if error:
            slot.errors += 1
            self._window_errors += 1
            self.errors += 1

    def window(self) -> tuple[int, int, list[int], float]:
        """Requests, errors, latency histogram and covered seconds of the sliding window."""
        now = self.clock()
        self._expire(int(now))
        covered = min(float(self.window_seconds), max(1.0, now - self.started))
        return self._window_requests, self._window_errors, list(self._window_latency), covered

    def window_requests(self) -> int:
        """Requests in the sliding window (O(1) once expired slots are subtracted)."""
        self._expire(int(self.clock()))
        return self._window_requests

    def snapshot(self) -> dict[str, Any]:
        """Everything a reader needs, JSON-ready (``window`` and ``total`` figures). Not to be
        changed by the caller: an idle deployment's is the same object until its next request."""
        counts = (self.requests, self.errors, self.retried)
        if self._idle is not None and self._idle[0] == counts:
            return self._idle[1]
        requests, errors, latency, covered = self.window()
        taken = self._figures(requests, errors, latency, covered)
        whole = requests == 0 and covered >= self.window_seconds
        self._idle = (counts, taken) if whole else None
        return taken

    def _figures(
        self, requests: int, errors: int, latency: list[int], covered: float
    ) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "model_name": self.model_name,
            "window_seconds": covered,
            "window": {
                "requests": requests,
                "errors": errors,
                "p50_ms": quantile(latency, 0.50),
                "p95_ms": quantile(latency, 0.95),
                "p99_ms": quantile(latency, 0.99),
                "requests_per_second": round(requests / covered, 3),
                "latency_histogram": sparse(latency),
            },
            "total": {
                "requests": self.requests,
                "errors": self.errors,
                "retried_on_stable": self.retried,
                "hedged_on_stable": self.hedged,
                "p50_ms": quantile(self.latency, 0.50),
                "p95_ms": quantile(self.latency, 0.95),
                "p99_ms": quantile(self.latency, 0.99),
                "latency_histogram": sparse(self.latency),
            },
        }


def metrics_from(snapshot: Mapping[str, Any], window: bool = True) -> PerformanceMetrics:
    """The :class:`PerformanceMetrics` of one stats snapshot (window or totals)."""
    part = snapshot["window" if window else "total"]
    return PerformanceMetrics(
        request_count=int(part["requests"]),
        error_count=int(part["errors"]),
        p50_ms=part["p50_ms"],
        p95_ms=part["p95_ms"],
        p99_ms=part["p99_ms"],
        requests_per_second=float(part.get("requests_per_second", 0.0)),
    )


@dataclass(slots=True)
class ShadowComparison:
    """What mirroring to one shadow deployment has shown so far."""

    shadow_deployment_id: str
    model_name: str
    mirrored: int = 0
    dropped: int = 0
    compared: int = 0
    agreed: int = 0
    shadow_errors: int = 0
    primary_latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    shadow_latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    sample_size: int = 20

    def record(
        self,
        primary_ms: float,
        shadow_ms: float,
        compared: int,
        agreed: int,
        sample: Mapping[str, Any] | None = None,
    ) -> None:
        """Count one mirrored request: ``compared`` predictions, ``agreed`` of them equal."""
        self.primary_latency[bucket_of(primary_ms)] += 1
        self.shadow_latency[bucket_of(shadow_ms)] += 1
        self.compared += compared
        self.agreed += agreed
        if agreed < compared and sample is not None and len(self.disagreements) < self.sample_size:
            self.disagreements.append(dict(sample))

    def record_failure(self, primary_ms: float, shadow_ms: float) -> None:
        """Count one mirrored request the shadow failed (error, timeout, bad answer)."""
        self.primary_latency[bucket_of(primary_ms)] += 1
        self.shadow_latency[bucket_of(shadow_ms)] += 1
        self.shadow_errors += 1

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready figures, including the latency of each side."""
        return {
            "shadow_deployment_id": self.shadow_deployment_id,
            "model_name": self.model_name,
            "mirrored": self.mirrored,
            "dropped": self.dropped,
            "compared": self.compared,
            "agreed": self.agreed,
            "shadow_errors": self.shadow_errors,
            "agreement": round(self.agreed / self.compared, 6) if self.compared else None,
            "primary_p95_ms": quantile(self.primary_latency, 0.95),
            "shadow_p95_ms": quantile(self.shadow_latency, 0.95),
            "primary_latency_histogram": sparse(self.primary_latency),
            "shadow_latency_histogram": sparse(self.shadow_latency),
            "disagreements": list(self.disagreements),
        }


def outputs_agree(primary: Any, shadow: Any, tolerance: float = 1e-6) -> bool:
    """Whether two prediction lists agree: equal labels, numbers within ``tolerance``."""
    if isinstance(primary, bool) or isinstance(shadow, bool):
        return type(primary) is type(shadow) and primary == shadow
    if isinstance(primary, int | float) and isinstance(shadow, int | float):
        return math.isclose(primary, shadow, rel_tol=tolerance, abs_tol=tolerance)
    if isinstance(primary, list) and isinstance(shadow, list):
        return len(primary) == len(shadow) and all(
            outputs_agree(a, b, tolerance) for a, b in zip(primary, shadow, strict=True)
        )
    if isinstance(primary, dict) and isinstance(shadow, dict):
        return primary.keys() == shadow.keys() and all(
            outputs_agree(primary[k], shadow[k], tolerance) for k in primary
        )
    return bool(primary == shadow)
