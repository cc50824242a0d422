"""Performance figures of one deployment over a window, as the gates read them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.errors import NonFiniteMetricError


@dataclass(frozen=True, slots=True)
class PerformanceMetrics:
    """Requests, errors and latency of one deployment over one window.

    Latencies are in milliseconds; ``None`` means "no data", which a gate treats as a reason
    to wait, never as a pass.
    """

    request_count: int = 0
    error_count: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    requests_per_second: float = 0.0

    @property
    def error_rate(self) -> float:
        """Errors per request (0.0 when there were no requests)."""
        return self.error_count / self.request_count if self.request_count else 0.0


@dataclass(frozen=True, slots=True)
class ShadowStats:
    """What the gateway learnt by mirroring requests to a shadow deployment: its outputs
    compared with the primary's, its failures, and both sides' latency on the same mirrored
    requests (log-scale histograms ``{bucket: count}``, as ``lifecycle.latency`` reads them)."""

    compared: int = 0
    agreed: int = 0
    shadow_errors: int = 0
    primary_latency: Mapping[int, int] = field(default_factory=dict)
    """The primary's latency on each mirrored request the shadow answered or failed."""
    shadow_latency: Mapping[int, int] = field(default_factory=dict)
    """The shadow's latency on those same requests."""

    @property
    def agreement(self) -> float | None:
        """Share of compared requests whose outputs agreed, or None before any comparison."""
        return self.agreed / self.compared if self.compared else None

    @property
    def requests(self) -> int:
        """Mirrored requests the shadow answered or failed (each one timed on both sides)."""
        return sum(self.shadow_latency.values())

    def __add__(self, other: ShadowStats) -> ShadowStats:
        """The comparisons of two gateways (or two shadow deployments) together."""
        return ShadowStats(
            self.compared + other.compared,
            self.agreed + other.agreed,
            self.shadow_errors + other.shadow_errors,
            _added(self.primary_latency, other.primary_latency),
            _added(self.shadow_latency, other.shadow_latency),
        )

    @classmethod
    def total(cls, stats: Iterable[ShadowStats]) -> ShadowStats:
        """Every comparison in ``stats`` added up (nothing compared for none)."""
        return sum(stats, cls())

    @classmethod
    def from_figures(cls, figures: Mapping[str, Any]) -> ShadowStats:
        """The counters and latency histograms of a gateway's shadow figures (missing ones
        count as 0, or empty)."""
        return cls(
            compared=int(figures.get("compared", 0)),
            agreed=int(figures.get("agreed", 0)),
            shadow_errors=int(figures.get("shadow_errors", 0)),
            primary_latency=_histogram(figures.get("primary_latency_histogram")),
            shadow_latency=_histogram(figures.get("shadow_latency_histogram")),
        )


def _histogram(value: Any) -> dict[int, int]:
    """A stored sparse histogram (``{"12": 3}``) with int buckets; anything else is empty."""
    if not isinstance(value, Mapping):
        return {}
    return {int(bucket): int(count) for bucket, count in value.items()}


def _added(a: Mapping[int, int], b: Mapping[int, int]) -> dict[int, int]:
    """Two sparse histograms added bucket by bucket."""
    total = dict(a)
    for bucket, count in b.items():
        total[bucket] = total.get(bucket, 0) + count
    return total


def finite_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """``metrics`` as floats, or raise NonFiniteMetricError naming the first one that is NaN or
    infinite: such a figure would pass a gate (``inf >= 0.9``) or be refused by PostgreSQL's
    JSON, so it is bad input and nothing is written."""
    for name, value in metrics.items():
        if not math.isfinite(value):
            raise NonFiniteMetricError(
                f"metric {name!r} is {value}: metrics must be finite numbers"
            )
    return {name: float(value) for name, value in metrics.items()}
