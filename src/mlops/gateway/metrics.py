"""``/metrics`` through ``prometheus_client``, from a registry of the gateway's own.

Nothing is added on the hot path: a collector reads the counters the data plane keeps anyway
(:class:`~mlops.gateway.stats.DeploymentStats`, :class:`~mlops.gateway.stats.ShadowComparison`,
the routing snapshot) when ``/metrics`` is scraped. Latency is a cumulative histogram with fixed
buckets from 0.5 ms to 10 s, so the replicas of a gateway can be added up (``sum by (le)``),
which the window quantiles of the old hand-written summary could not.

The circuit breakers are read the same way (``Breakers.figures``): each upstream's state
(``deployer_gateway_breaker_state``: 0 closed, 1 half open, 2 open) and whether it is ejected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from mlops.gateway.stats import PROMETHEUS_BUCKETS_MS, DeploymentStats, ShadowComparison

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The text exposition format every Prometheus scrapes."""

LABELS = ("model", "deployment_id")


@dataclass(frozen=True, slots=True)
class Figures:
    """What a scrape reads: the live counters, the tables' revisions, failed flushes."""

    deployments: Iterable[DeploymentStats]
    shadows: Iterable[ShadowComparison]
    revisions: Mapping[str, int]
    failed_flushes: int
    breakers: Iterable[Mapping[str, Any]] = ()
    """``Breakers.figures()``: each upstream's breaker state and whether it is ejected."""


BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
"""``deployer_gateway_breaker_state``'s values."""


def _le(bound_ms: float) -> str:
    return repr(bound_ms / 1000)


_LES = [_le(b) for b in PROMETHEUS_BUCKETS_MS] + ["+Inf"]


def _histogram(stats: DeploymentStats) -> list[tuple[str, float]]:
    buckets, seen = [], 0
    for le, n in zip(_LES, stats.prometheus_buckets, strict=True):
        seen += n
        buckets.append((le, float(seen)))
    return buckets


class _FiguresCollector(Collector):
    def __init__(self, read: Callable[[], Figures]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        figures = self.read()
        deployments = list(figures.deployments)
        shadows = list(figures.shadows)
        yield from _deployment_families(deployments)
        yield from _shadow_families(shadows)
        revision = GaugeMetricFamily(
            "deployer_gateway_routing_revision",
            "Revision of the routing table this gateway serves.",
            labels=["model"],
        )
        for model, number in sorted(figures.revisions.items()):
            revision.add_metric([model], number)
        yield revision
        yield CounterMetricFamily(
            "deployer_gateway_failed_flushes",
            "Flushes of the figures to the state database that failed.",
            value=figures.failed_flushes,
        )
        yield from _breaker_families(list(figures.breakers))


def _breaker_families(breakers: list[Mapping[str, Any]]) -> Iterator[Metric]:
    state = GaugeMetricFamily(
        "deployer_gateway_breaker_state",
        "The deployment's circuit breaker: 0 closed, 1 half open (probing), 2 open.",
        labels=LABELS,
    )
    ejected = GaugeMetricFamily(
        "deployer_gateway_ejected",
        "1 while the gateway sends no users to the deployment (errors certainly over its "
        "rollout's threshold), else 0.",
        labels=LABELS,
    )
    for b in breakers:
        labels = [str(b["model_name"]), str(b["deployment_id"])]
        state.add_metric(labels, BREAKER_STATES.get(str(b["state"]), 2))
        ejected.add_metric(labels, 1 if b["ejected"] else 0)
    yield from (state, ejected)


def _deployment_families(deployments: list[DeploymentStats]) -> Iterator[Metric]:
    requests = CounterMetricFamily(
        "deployer_gateway_requests", "Requests routed to a deployment.", labels=LABELS
    )
    errors = CounterMetricFamily(
        "deployer_gateway_errors",
        "Requests that failed (5xx, timeout, no connection).",
        labels=LABELS,
    )
    retries = CounterMetricFamily(
        "deployer_gateway_retries",
        "Requests retried on the stable deployment after this deployment failed them.",
        labels=LABELS,
    )
    hedges = CounterMetricFamily(
        "deployer_gateway_hedges",
        "Requests also sent to the stable deployment because this one had not answered within "
        "the hedge delay.",
        labels=LABELS,
    )
    latency = HistogramMetricFamily(
        "deployer_gateway_request_duration_seconds",
        "Time the deployment took to answer, seen from the gateway.",
        labels=LABELS,
    )
    rate = GaugeMetricFamily(
        "deployer_gateway_window_requests",
        "Requests in the sliding window (the last window_seconds).",
        labels=LABELS,
    )
    for stats in deployments:
        labels = [stats.model_name, stats.deployment_id]
        requests.add_metric(labels, stats.requests)
        errors.add_metric(labels, stats.errors)
        retries.add_metric(labels, stats.retried)
        hedges.add_metric(labels, stats.hedged)
        latency.add_metric(labels, _histogram(stats), stats.latency_sum_ms / 1000)
        rate.add_metric(labels, stats.window_requests())
    yield from (requests, errors, retries, hedges, latency, rate)


def _shadow_families(shadows: list[ShadowComparison]) -> Iterator[Metric]:
    counters = {
        "mirrored": "Requests mirrored to the shadow deployment.",
        "dropped": "Mirrored requests dropped because the shadow backlog was full.",
        "compared": "Predictions compared between the primary and the shadow.",
        "agreed": "Compared predictions on which the primary and the shadow agreed.",
        "shadow_errors": "Mirrored requests the shadow failed (error, timeout, bad answer).",
    }
    for field, text in counters.items():
        name = field.removeprefix("shadow_")
        family = CounterMetricFamily(f"deployer_gateway_shadow_{name}", text, labels=LABELS)
        for shadow in shadows:
            labels = [shadow.model_name, shadow.shadow_deployment_id]
            family.add_metric(labels, getattr(shadow, field))
        yield family
    agreement = GaugeMetricFamily(
        "deployer_gateway_shadow_agreement",
        "Share of compared predictions on which the primary and the shadow agreed.",
        labels=LABELS,
    )
    for shadow in shadows:
        if shadow.compared:
            labels = [shadow.model_name, shadow.shadow_deployment_id]
            agreement.add_metric(labels, shadow.agreed / shadow.compared)
    yield agreement


class GatewayMetrics:
    """One gateway's registry (never the process-global one: two gateways in one process, as
    in tests, keep their figures apart)."""

    def __init__(self, read: Callable[[], Figures]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_FiguresCollector(read))

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)
