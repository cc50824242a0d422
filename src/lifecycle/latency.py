"""Latency histograms that are cheap to fill and can be merged across gateway replicas.

Buckets are 8% apart on a log scale from 0.05 ms to about four minutes: recording is one ``log``
and one increment, a percentile is read to within about 4%, and the histograms of several
replicas or windows are merged by adding counts. Pure arithmetic, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.metrics import PerformanceMetrics

LOWEST_MS = 0.05
GROWTH = 1.08
BUCKETS = 200
_LOG_GROWTH = math.log(GROWTH)


def bucket_of(ms: float) -> int:
    """The histogram bucket of one latency in milliseconds."""
    if ms <= LOWEST_MS:
        return 0
    return min(BUCKETS - 1, int(math.log(ms / LOWEST_MS) / _LOG_GROWTH) + 1)


def bucket_value(index: int) -> float:
    """A representative latency of one bucket (the geometric middle of its bounds)."""
    if index == 0:
        return LOWEST_MS
    return float(LOWEST_MS * GROWTH ** (index - 0.5))


def quantile(counts: Mapping[int, int] | list[int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a histogram, or None when it is empty."""
    items = sorted(counts.items()) if isinstance(counts, Mapping) else list(enumerate(counts))
    total = sum(n for _, n in items)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index, n in items:
        seen += n
        if seen >= rank:
            return round(bucket_value(index), 3)
    return round(bucket_value(items[-1][0]), 3)  # pragma: no cover - rank <= total


def sparse(counts: list[int]) -> dict[str, int]:
    """A histogram as ``{bucket: count}`` without the empty buckets (for JSON)."""
    return {str(i): n for i, n in enumerate(counts) if n}


def merge(histograms: Iterable[Mapping[str, int]]) -> dict[int, int]:
    """Add sparse histograms (from several replicas or windows)."""
    total: dict[int, int] = {}
    for histogram in histograms:
        for key, n in histogram.items():
            total[int(key)] = total.get(int(key), 0) + int(n)
    return total


def merged_metrics(snapshots: Iterable[Mapping[str, Any]]) -> PerformanceMetrics:
    """Window figures of one deployment merged over several gateway replicas' snapshots."""
    requests = errors = 0
    rate = 0.0
    histograms = []
    for snapshot in snapshots:
        window = snapshot["window"]
        requests += int(window["requests"])
        errors += int(window["errors"])
        rate += float(window.get("requests_per_second", 0.0))
        histograms.append(window.get("latency_histogram", {}))
    latency = merge(histograms)
    return PerformanceMetrics(
        request_count=requests,
        error_count=errors,
        p50_ms=quantile(latency, 0.50),
        p95_ms=quantile(latency, 0.95),
        p99_ms=quantile(latency, 0.99),
        requests_per_second=round(rate, 3),
    )


@dataclass(frozen=True, slots=True)
class RequestCounts:
    """Cumulative requests, errors and latency histogram of one deployment (all replicas).

    Counters only grow, so the figures of a period are a difference of two readings (as with
    Prometheus' ``increase``): a canary step is judged on what happened during that step.
    """

    requests: int = 0
    errors: int = 0
    histogram: Mapping[int, int] = field(default_factory=dict)

    def since(self, earlier: RequestCounts | None) -> RequestCounts:
        """What happened after ``earlier`` was read; a counter that went back (a gateway that
        restarted under the same id) counts from zero again."""
        if earlier is None:
            return self
        if self.requests < earlier.requests or self.errors < earlier.errors:
            return self
        histogram = {
            k: n - earlier.histogram.get(k, 0)
            for k, n in self.histogram.items()
            if n - earlier.histogram.get(k, 0) > 0
        }
        return RequestCounts(
            self.requests - earlier.requests, self.errors - earlier.errors, histogram
        )

    def metrics(self) -> PerformanceMetrics:
        """The counts as the figures gates read."""
        return PerformanceMetrics(
            request_count=self.requests,
            error_count=self.errors,
            p50_ms=quantile(dict(self.histogram), 0.50),
            p95_ms=quantile(dict(self.histogram), 0.95),
            p99_ms=quantile(dict(self.histogram), 0.99),
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (histogram keys as strings)."""
        return {
            "requests": self.requests,
            "errors": self.errors,
            "histogram": {str(k): n for k, n in sorted(self.histogram.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RequestCounts:
        """The counts a ``to_json`` value describes (None: nothing counted)."""
        if not data:
            return cls()
        return cls(
            int(data.get("requests", 0)),
            int(data.get("errors", 0)),
            {int(k): int(n) for k, n in dict(data.get("histogram", {})).items()},
        )


def summed_counts(totals: Iterable[Mapping[str, Any]]) -> RequestCounts:
    """Cumulative counts of one deployment added over gateway replicas' ``total`` figures."""
    requests = errors = 0
    histograms = []
    for total in totals:
        requests += int(total.get("requests", 0))
        errors += int(total.get("errors", 0))
        histograms.append(total.get("latency_histogram", {}))
    return RequestCounts(requests, errors, merge(histograms))
