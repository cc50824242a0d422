"""``/metrics`` through prometheus_client (issue 16): its own parser reads what a gateway's
registry exposes, latency is a cumulative histogram that adds up across replicas, label values
are escaped, and the breaker gauge is there for the breaker to set."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from mlops.gateway.metrics import Figures, GatewayMetrics
from mlops.gateway.stats import DeploymentStats, ShadowComparison


def samples(metrics: GatewayMetrics) -> dict[str, list[Sample]]:
    text = metrics.exposition().decode()
    found: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def value(found: dict[str, list[Sample]], name: str, **labels: str) -> float:
    [sample] = [s for s in found[name] if all(s.labels.get(k) == v for k, v in labels.items())]
    return sample.value


def test_the_exposition_parses_with_histogram_buckets_counters_and_gauges() -> None:
    weird = DeploymentStats('we"ird\n', "iris")
    for ms in (0.3, 3.0, 3.0, 40.0, 20_000.0):
        weird.record(ms, error=ms > 1000)
    weird.retried = 1
    shadow = ShadowComparison("s1", "iris")
    shadow.record(1.0, 1.0, compared=4, agreed=3)
    shadow.mirrored, shadow.dropped = 2, 1
    breakers = [
        {"deployment_id": "d9", "model_name": "iris", "state": "open", "ejected": False},
        {"deployment_id": "d8", "model_name": "iris", "state": "half_open", "ejected": True},
    ]
    metrics = GatewayMetrics(lambda: Figures([weird], [shadow], {"iris": 7}, 2, breakers))

    found = samples(metrics)
    of = {"model": "iris", "deployment_id": 'we"ird\n'}
    assert value(found, "deployer_gateway_requests_total", **of) == 5
    assert value(found, "deployer_gateway_errors_total", **of) == 1
    assert value(found, "deployer_gateway_retries_total", **of) == 1
    bucket = "deployer_gateway_request_duration_seconds_bucket"
    assert value(found, bucket, le="0.0005", **of) == 1
    assert value(found, bucket, le="0.005", **of) == 3
    assert value(found, bucket, le="0.05", **of) == 4
    assert value(found, bucket, le="10.0", **of) == 4
    assert value(found, bucket, le="+Inf", **of) == 5
    assert value(found, "deployer_gateway_request_duration_seconds_count", **of) == 5
    assert value(found, "deployer_gateway_request_duration_seconds_sum", **of) == 20.0463
    shadow_of = {"model": "iris", "deployment_id": "s1"}
    assert value(found, "deployer_gateway_shadow_compared_total", **shadow_of) == 4
    assert value(found, "deployer_gateway_shadow_agreed_total", **shadow_of) == 3
    assert value(found, "deployer_gateway_shadow_mirrored_total", **shadow_of) == 2
    assert value(found, "deployer_gateway_shadow_dropped_total", **shadow_of) == 1
    assert value(found, "deployer_gateway_shadow_agreement", **shadow_of) == 0.75
    assert value(found, "deployer_gateway_routing_revision", model="iris") == 7
    assert value(found, "deployer_gateway_failed_flushes_total") == 2
    d9, d8 = {"model": "iris", "deployment_id": "d9"}, {"model": "iris", "deployment_id": "d8"}
    assert value(found, "deployer_gateway_breaker_state", **d9) == 2
    assert value(found, "deployer_gateway_breaker_state", **d8) == 1
    assert (
        value(found, "deployer_gateway_ejected", **d9),
        value(found, "deployer_gateway_ejected", **d8),
    ) == (0, 1)


def test_each_gateway_has_its_own_registry() -> None:
    one, two = DeploymentStats("d1", "iris"), DeploymentStats("d2", "iris")
    one.record(1.0, error=False)
    first = GatewayMetrics(lambda: Figures([one], [], {}, 0))
    second = GatewayMetrics(lambda: Figures([two], [], {}, 0))  # no clash on the breaker gauge
    assert [
        s.labels["deployment_id"] for s in samples(first)["deployer_gateway_requests_total"]
    ] == ["d1"]
    assert value(samples(second), "deployer_gateway_requests_total", deployment_id="d2") == 0
