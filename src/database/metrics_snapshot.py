"""The gateways' figures of many deployments, read in one round trip.

``DbMetricsSource.snapshot(ids)`` reads every ``gateway_stats`` row of the deployments a tick
judges at once, and this answers the metrics-source port's questions from those rows exactly
as the per-deployment reads answer them (the same merge, the same freshness rule). Asking it
about a deployment it did not read is an error: nothing is judged on figures never read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from lifecycle.latency import RequestCounts, merged_metrics, summed_counts
from lifecycle.metrics import PerformanceMetrics, ShadowStats


class MetricsSnapshot:
    """The metrics-source port over rows read at once (``DbMetricsSource.snapshot``)."""

    def __init__(
        self,
        rows: Iterable[Any],
        deployment_ids: Iterable[str],
        fresh: Callable[[list[Any]], list[Any]],
    ) -> None:
        """``rows``: ``gateway_stats`` rows as read (``routing.STATS``: kind, deployment_id,
        figures, updated_at; row objects answer the same); ``fresh`` keeps the fresh ones."""
        self.read = frozenset(deployment_ids)
        self._fresh = fresh
        self._rows: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self._any: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            self._rows[(row.kind, row.deployment_id)].append(row)
            self._any[row.deployment_id].append(row)

    def _of(self, kind: str, deployment_id: str) -> list[Any]:
        if deployment_id not in self.read:
            raise KeyError(f"the figures of {deployment_id} were not read in this snapshot")
        return self._rows.get((kind, deployment_id), [])

    def snapshot(self, deployment_ids: Iterable[str]) -> MetricsSnapshot:
        """Itself, when it read every one of ``deployment_ids`` (else a KeyError)."""
        for deployment_id in deployment_ids:
            self._of("deployment", deployment_id)
        return self

    def metrics(self, deployment_id: str) -> PerformanceMetrics:
        rows = self._fresh(self._of("deployment", deployment_id))
        return merged_metrics([r.figures for r in rows])

    def counts(self, deployment_id: str) -> RequestCounts:
        rows = self._of("deployment", deployment_id)
        return summed_counts(r.figures.get("total", {}) for r in rows)

    def reported_at(self, deployment_id: str) -> datetime | None:
        self._of("deployment", deployment_id)
        return max((r.updated_at for r in self._any.get(deployment_id, [])), default=None)

    def shadow_stats(self, deployment_id: str) -> ShadowStats:
        rows = self._of("shadow", deployment_id)
        return ShadowStats.total(ShadowStats.from_figures(r.figures) for r in rows)
