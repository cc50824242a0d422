"""Per-deployment request figures: a sliding window and totals, cheap enough for every request.

Latency goes into the log-scale histograms of :mod:`lifecycle.latency`. The window is a ring of
one-second slots; reading it merges the slots of the last ``window_seconds``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.latency import BUCKETS, bucket_of, quantile, sparse
from lifecycle.metrics import PerformanceMetrics


@dataclass(slots=True)
class _Slot:
    second: int = -1
    requests: int = 0
    errors: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def reset(self, second: int) -> None:
        self.second = second
        self.requests = 0
        self.errors = 0
        self.latency = [0] * BUCKETS


@dataclass(slots=True)
class DeploymentStats:
    """Requests, errors and latency of one deployment: totals and the last ``window_seconds``."""

    deployment_id: str
    model_name: str
    window_seconds: int = 60
    clock: Callable[[], float] = time.monotonic
    requests: int = 0
    errors: int = 0
    retried: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    started: float = 0.0
    _slots: list[_Slot] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._slots = [_Slot() for _ in range(self.window_seconds)]
        self.started = self.clock()

    def _slot(self) -> _Slot:
        second = int(self.clock())
        slot = self._slots[second % self.window_seconds]
        if slot.second != second:
            slot.reset(second)
        return slot

    def record(self, ms: float, error: bool) -> None:
        """Count one request that took ``ms`` milliseconds (an error if ``error``)."""
        index = bucket_of(ms)
        slot = self._slot()
        slot.requests += 1
        slot.latency[index] += 1
        self.requests += 1
        self.latency[index] += 1
        if error:
            slot.errors += 1
            self.errors += 1

    def window(self) -> tuple[int, int, list[int], float]:
        """Requests, errors, latency histogram and covered seconds of the sliding window."""
        now = int(self.clock())
        requests = errors = 0
        latency = [0] * BUCKETS
        for slot in self._slots:
            if slot.second > now - self.window_seconds and slot.requests:
                requests += slot.requests
                errors += slot.errors
                latency = [a + b for a, b in zip(latency, slot.latency, strict=True)]
        covered = min(float(self.window_seconds), max(1.0, self.clock() - self.started))
        return requests, errors, latency, covered

    def snapshot(self) -> dict[str, Any]:
        """Everything a reader needs, JSON-ready (``window`` and ``total`` figures)."""
        requests, errors, latency, covered = self.window()
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


def prometheus(
    deployments: Iterable[Mapping[str, Any]], shadows: Iterable[Mapping[str, Any]]
) -> str:
    """The figures in Prometheus text format (version 0.0.4)."""
    rows = list(deployments)
    shadow_rows = list(shadows)
    lines: list[str] = []

    def family(name: str, kind: str, text: str, samples: Iterable[tuple[str, Any]]) -> None:
        lines.extend((f"# HELP {name} {text}", f"# TYPE {name} {kind}"))
        lines.extend(f"{name}{labels} {value}" for labels, value in samples)

    def of(row: Mapping[str, Any], **extra: str) -> str:
        return _labels(model=row["model_name"], deployment_id=row["deployment_id"], **extra)

    def of_shadow(row: Mapping[str, Any]) -> str:
        return _labels(model=row["model_name"], deployment_id=row["shadow_deployment_id"])

    family(
        "deployer_gateway_requests_total",
        "counter",
        "Requests routed to a deployment.",
        ((of(r), r["total"]["requests"]) for r in rows),
    )
    family(
        "deployer_gateway_errors_total",
        "counter",
        "Requests that failed (5xx, timeout, no connection).",
        ((of(r), r["total"]["errors"]) for r in rows),
    )
    latency: list[tuple[str, Any]] = []
    for row in rows:
        window = row["window"]
        for q, key in (("0.5", "p50_ms"), ("0.95", "p95_ms"), ("0.99", "p99_ms")):
            if window[key] is not None:
                latency.append((of(row, quantile=q), window[key]))
        latency.append(("_count" + of(row), window["requests"]))
    family(
        "deployer_gateway_latency_ms",
        "summary",
        "Latency over the sliding window, in milliseconds.",
        latency,
    )
    family(
        "deployer_gateway_requests_per_second",
        "gauge",
        "Request rate over the sliding window.",
        ((of(r), r["window"]["requests_per_second"]) for r in rows),
    )
    family(
        "deployer_gateway_shadow_agreement",
        "gauge",
        "Share of mirrored requests whose outputs agreed.",
        ((of_shadow(r), r["agreement"]) for r in shadow_rows if r["agreement"] is not None),
    )
    family(
        "deployer_gateway_shadow_compared_total",
        "counter",
        "Mirrored requests compared.",
        ((of_shadow(r), r["compared"]) for r in shadow_rows),
    )
    return "\n".join(lines) + "\n"


def _labels(**values: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in values.items()) + "}"
