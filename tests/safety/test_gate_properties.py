"""Property-based tests of the gates: no figures, too few figures or failing figures never make
a pass, whatever the numbers (hypothesis explores them; the tables in tests/unit pin the
messages)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from lifecycle.gates import (
    Criterion,
    PromotionPolicy,
    VerdictStatus,
    check_threshold,
    health_gates,
    overall,
    production_gates,
)
from lifecycle.metrics import PerformanceMetrics, ShadowStats
from lifecycle.rollback import RollbackConfig

NOW = datetime(2026, 11, 29, tzinfo=UTC)
POLICY = PromotionPolicy(shadow_min_hours=24, min_shadow_comparisons=100)
finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
ops = st.sampled_from([">=", "<=", ">", "<", "=="])
names = st.sampled_from(["accuracy", "f1", "auc", "recall"])
criteria = st.lists(st.builds(Criterion, names, ops, finite), min_size=1, max_size=4)
metrics = st.dictionaries(names, finite, max_size=4)
shadows = st.builds(
    lambda compared, agreed: ShadowStats(compared=compared, agreed=min(agreed, compared)),
    st.integers(0, 5000),
    st.integers(0, 5000),
)


@given(metrics, criteria, st.floats(0, 100), shadows, st.booleans())
def test_a_promotion_passes_only_when_every_criterion_holds_and_the_shadow_was_long_and_good(
    figures: dict[str, float],
    wanted: list[Criterion],
    hours_in_shadow: float,
    shadow: ShadowStats,
    has_production: bool,
) -> None:
    verdicts = production_gates(
        metrics=figures,
        criteria=wanted,
        entered_shadow_at=NOW - timedelta(hours=hours_in_shadow),
        now=NOW,
        shadow=shadow,
        has_production=has_production,
        policy=POLICY,
    )
    if overall(verdicts) is VerdictStatus.PASSED:
        for c in wanted:
            assert c.metric in figures
            assert check_threshold(figures[c.metric], c.op, c.threshold)
        assert hours_in_shadow >= POLICY.shadow_min_hours
        assert shadow.compared >= POLICY.min_shadow_comparisons
        assert shadow.agreed / shadow.compared >= POLICY.min_shadow_agreement


@given(metrics, st.floats(0, 100), st.booleans())
def test_a_promotion_without_criteria_or_without_a_mirror_after_production_never_passes(
    figures: dict[str, float], hours_in_shadow: float, has_production: bool
) -> None:
    common = {
        "metrics": figures,
        "entered_shadow_at": NOW - timedelta(hours=hours_in_shadow),
        "now": NOW,
        "policy": POLICY,
    }
    no_criteria = production_gates(
        criteria=[], shadow=ShadowStats(1000, 1000), has_production=has_production, **common
    )
    assert overall(no_criteria) is VerdictStatus.FAILED
    never_mirrored = production_gates(
        criteria=[Criterion("accuracy", ">=", -math.inf)],
        shadow=None,
        has_production=True,
        **common,
    )
    assert overall(never_mirrored) is not VerdictStatus.PASSED


@given(
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.one_of(st.none(), st.floats(0, 1e4)),
    st.one_of(st.none(), st.floats(0, 1e4)),
    st.floats(0, 1),
    st.floats(1, 10),
    st.integers(1, 1000),
)
def test_a_canary_never_passes_its_health_gates_early_or_over_its_thresholds(
    requests: int,
    errors: int,
    p95: float | None,
    baseline_p95: float | None,
    threshold: float,
    multiplier: float,
    min_requests: int,
) -> None:
    errors = min(errors, requests)
    candidate = PerformanceMetrics(requests, errors, p95_ms=p95, p99_ms=p95)
    baseline = PerformanceMetrics(10_000, 0, p95_ms=baseline_p95, p99_ms=baseline_p95)
    config = RollbackConfig(threshold, multiplier, min_requests, 5.0)
    verdict = overall(health_gates(candidate, baseline, config))
    if verdict is VerdictStatus.PASSED:
        assert requests >= min_requests
        assert errors / requests <= threshold
        assert p95 is not None and baseline_p95 is not None
        assert p95 <= baseline_p95 * multiplier
    if requests and errors > threshold * max(requests, min_requests):
        assert verdict is VerdictStatus.FAILED
