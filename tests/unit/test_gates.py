"""Gates and verdicts, as rules. Too little data is inconclusive, never passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.errors import BadInputError
from lifecycle.gates import (
    Criterion,
    Verdict,
    VerdictStatus,
    check_threshold,
    error_rate_gate,
    health_gates,
    latency_gate,
    metric_thresholds_gate,
    min_requests_gate,
    overall,
    parse_criterion,
    shadow_age_gate,
    shadow_agreement_gate,
    unmet,
)
from lifecycle.metrics import PerformanceMetrics, ShadowStats
from lifecycle.rollback import PRESETS, RollbackConfig, RollbackPreset, rollback_preset

P, F, INC = VerdictStatus.PASSED, VerdictStatus.FAILED, VerdictStatus.INCONCLUSIVE
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "op", "threshold", "holds"),
    [
        (0.9, ">=", 0.9, True),
        (0.89, ">=", 0.9, False),
        (0.9, ">", 0.9, False),
        (0.1, "<=", 0.1, True),
        (0.2, "<", 0.1, False),
        (1.0, "==", 1.0, True),
    ],
    ids=[
        "at least holds at the bound",
        "at least fails just below",
        "more than fails at the bound",
        "at most holds at the bound",
        "less than fails above",
        "equal holds on equal",
    ],
)
def test_check_threshold(value: float, op: str, threshold: float, holds: bool) -> None:
    assert check_threshold(value, op, threshold) is holds


def test_an_unknown_comparison_is_bad_input() -> None:
    with pytest.raises(BadInputError):
        check_threshold(1.0, "=>", 1.0)


@pytest.mark.parametrize(
    ("text", "criterion"),
    [
        ("accuracy>=0.9", Criterion("accuracy", ">=", 0.9)),
        (" f1 > 0.75 ", Criterion("f1", ">", 0.75)),
        ("log_loss<=1e-2", Criterion("log_loss", "<=", 0.01)),
        ("delta==-1", Criterion("delta", "==", -1.0)),
    ],
    ids=["at least", "spaces are allowed", "exponents are read", "negative numbers are read"],
)
def test_criteria_are_parsed(text: str, criterion: Criterion) -> None:
    assert parse_criterion(text) == criterion


@pytest.mark.parametrize("text", ["accuracy", ">=0.9", "accuracy>=high", "accuracy=>0.9", ""])
def test_malformed_criteria_are_bad_input_with_an_example(text: str) -> None:
    with pytest.raises(BadInputError, match=r"accuracy>=0\.9"):
        parse_criterion(text)


def test_metric_thresholds_give_one_verdict_per_criterion() -> None:
    verdicts = metric_thresholds_gate(
        {"accuracy": 0.95, "f1": 0.70},
        [Criterion("accuracy", ">=", 0.9), Criterion("f1", ">=", 0.8), Criterion("auc", ">=", 0.8)],
    )
    assert [v.status for v in verdicts] == [P, F, INC]
    assert "auc was never recorded" in verdicts[2].message
    assert overall(verdicts) is F


def m(
    requests: int = 0, errors: int = 0, p95: float | None = None, p99: float | None = None
) -> PerformanceMetrics:
    return PerformanceMetrics(request_count=requests, error_count=errors, p95_ms=p95, p99_ms=p99)


MIN_REQUEST_CASES = {
    "no requests at all is inconclusive": (m(0), 100, INC),
    "one short of the minimum is inconclusive, never passed": (m(99), 100, INC),
    "exactly the minimum is enough": (m(100), 100, P),
}


@pytest.mark.parametrize(
    ("metrics", "minimum", "status"), MIN_REQUEST_CASES.values(), ids=MIN_REQUEST_CASES.keys()
)
def test_minimum_requests(metrics: PerformanceMetrics, minimum: int, status: VerdictStatus) -> None:
    assert min_requests_gate(metrics, minimum).status is status


ERROR_RATE_CASES = {
    "a clean run passes": (m(1000, 0), 0.01, P),
    "exactly at the threshold passes": (m(1000, 10), 0.01, P),
    "just above the threshold fails": (m(1000, 11), 0.01, F),
    "exactly the errors the minimum can absorb is inconclusive": (m(10, 1), 0.01, INC),
    "more errors than the minimum can absorb fail early": (m(10, 2), 0.01, F),
    "a clean start is inconclusive, never passed": (m(99, 0), 0.01, INC),
}


@pytest.mark.parametrize(
    ("metrics", "threshold", "status"), ERROR_RATE_CASES.values(), ids=ERROR_RATE_CASES.keys()
)
def test_error_rate(metrics: PerformanceMetrics, threshold: float, status: VerdictStatus) -> None:
    assert error_rate_gate(metrics, threshold, 100, 1.0).status is status


LATENCY_CASES = {
    "equal latency passes": (m(p95=50.0), m(p95=50.0), "p95", P),
    "at the multiplier passes": (m(p95=75.0), m(p95=50.0), "p95", P),
    "above the multiplier fails": (m(p95=75.1), m(p95=50.0), "p95", F),
    "p99 is judged on its own": (m(p95=50.0, p99=200.0), m(p95=50.0, p99=100.0), "p99", F),
    "no candidate latency is inconclusive": (m(), m(p95=50.0), "p95", INC),
    "no baseline latency is inconclusive": (m(p95=50.0), m(), "p95", INC),
}


@pytest.mark.parametrize(
    ("candidate", "baseline", "quantile", "status"),
    LATENCY_CASES.values(),
    ids=LATENCY_CASES.keys(),
)
def test_latency_multiplier_against_the_baseline(
    candidate: PerformanceMetrics,
    baseline: PerformanceMetrics,
    quantile: str,
    status: VerdictStatus,
) -> None:
    assert latency_gate(candidate, baseline, 1.5, quantile).status is status


def test_health_gates_wait_for_enough_requests_before_judging_latency() -> None:
    config = rollback_preset("balanced")
    verdicts = health_gates(m(999, 9, 9000.0, 9000.0), m(5000, 0, 10.0, 20.0), config)
    assert overall(verdicts) is INC
    assert "999 of the 1000" in verdicts[0].message


def test_health_gates_fail_early_when_errors_exceed_what_the_minimum_can_absorb() -> None:
    config = rollback_preset("balanced")  # 1% of 1000 requests: 10 errors at most
    verdicts = health_gates(m(40, 11), m(5000, 0, 10.0, 20.0), config)
    assert overall(verdicts) is F
    assert "11 errors in 40 requests" in verdicts[0].message


def test_health_gates_list_every_failure_once_there_is_enough_data() -> None:
    config = rollback_preset("balanced")
    verdicts = health_gates(m(1000, 50, 100.0, 500.0), m(5000, 0, 10.0, 20.0), config)
    assert overall(verdicts) is F
    assert len(unmet(verdicts)) == 3


def test_a_healthy_candidate_passes_every_health_gate() -> None:
    config = rollback_preset("conservative")
    verdicts = health_gates(m(600, 1, 11.0, 22.0), m(5000, 0, 10.0, 20.0), config)
    assert overall(verdicts) is P


SHADOW_AGE_CASES = {
    "never shadowed fails": (None, 24.0, F),
    "an hour short is inconclusive": (NOW - timedelta(hours=23), 24.0, INC),
    "exactly the minimum passes": (NOW - timedelta(hours=24), 24.0, P),
    "a configurable minimum is honoured": (NOW - timedelta(minutes=30), 0.25, P),
}


@pytest.mark.parametrize(
    ("entered", "hours", "status"), SHADOW_AGE_CASES.values(), ids=SHADOW_AGE_CASES.keys()
)
def test_shadow_age(entered: datetime | None, hours: float, status: VerdictStatus) -> None:
    assert shadow_age_gate(entered, NOW, hours).status is status


SHADOW_AGREEMENT_CASES = {
    "no comparisons yet is inconclusive": (ShadowStats(0, 0), INC),
    "too few comparisons is inconclusive even at full agreement": (ShadowStats(99, 99), INC),
    "agreement at the threshold passes": (ShadowStats(1000, 950), P),
    "agreement below the threshold fails": (ShadowStats(1000, 949), F),
}


@pytest.mark.parametrize(
    ("stats", "status"), SHADOW_AGREEMENT_CASES.values(), ids=SHADOW_AGREEMENT_CASES.keys()
)
def test_shadow_agreement(stats: ShadowStats, status: VerdictStatus) -> None:
    assert shadow_agreement_gate(stats, min_agreement=0.95, min_compared=100).status is status


OVERALL_CASES = {
    "nothing to judge is inconclusive": ([], INC),
    "all passed is passed": ([P, P], P),
    "one inconclusive holds the rest": ([P, INC], INC),
    "one failure outweighs everything": ([P, INC, F], F),
}


@pytest.mark.parametrize(("statuses", "status"), OVERALL_CASES.values(), ids=OVERALL_CASES.keys())
def test_overall_verdict(statuses: list[VerdictStatus], status: VerdictStatus) -> None:
    assert overall(Verdict("g", s, "") for s in statuses) is status


PRESET_CASES = {
    "conservative": (RollbackPreset.CONSERVATIVE, 0.005, 1.2, 500, 30.0),
    "balanced": (RollbackPreset.BALANCED, 0.01, 1.5, 1000, 60.0),
    "aggressive": (RollbackPreset.AGGRESSIVE, 0.02, 2.0, 5000, 300.0),
}


@pytest.mark.parametrize(
    ("preset", "error_rate", "multiplier", "minimum", "interval"),
    PRESET_CASES.values(),
    ids=PRESET_CASES.keys(),
)
def test_rollback_presets_hold_their_documented_values(
    preset: RollbackPreset, error_rate: float, multiplier: float, minimum: int, interval: float
) -> None:
    config = PRESETS[preset]
    assert (config.error_rate_threshold, config.latency_multiplier) == (error_rate, multiplier)
    assert (config.min_requests, config.check_interval_seconds) == (minimum, interval)
    assert rollback_preset(preset.value.upper()) == config


@pytest.mark.parametrize(
    "kwargs",
    [
        {"error_rate_threshold": 1.5},
        {"latency_multiplier": 0.9},
        {"min_requests": 0},
        {"check_interval_seconds": 0.0},
    ],
    ids=[
        "an error rate above one",
        "a multiplier that would fail the baseline itself",
        "judging on zero requests",
        "a zero check interval",
    ],
)
def test_nonsensical_rollback_configs_are_refused(kwargs: dict[str, float]) -> None:
    base: dict[str, float] = {
        "error_rate_threshold": 0.01,
        "latency_multiplier": 1.5,
        "min_requests": 100,
        "check_interval_seconds": 1.0,
    }
    with pytest.raises(BadInputError):
        RollbackConfig(**{**base, **kwargs})  # type: ignore[arg-type]


def test_an_unknown_preset_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="conservative"):
        rollback_preset("reckless")
