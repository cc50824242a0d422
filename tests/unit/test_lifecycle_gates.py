"""Gates pinned exactly: each verdict's gate name, status and sentence, at every boundary.

test_gates.py states the rules by status; these tables hold the whole verdict, so a changed
bound, a swapped status, a renamed gate or a garbled sentence is noticed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.errors import BadInputError
from lifecycle.gates import (
    Criterion,
    PromotionPolicy,
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
    production_gates,
    shadow_age_gate,
    shadow_agreement_gate,
    unmet,
)
from lifecycle.metrics import PerformanceMetrics as M
from lifecycle.metrics import ShadowStats
from lifecycle.rollback import RollbackConfig

P, F, INC = VerdictStatus.PASSED, VerdictStatus.FAILED, VerdictStatus.INCONCLUSIVE
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_an_unknown_comparison_lists_the_known_ones() -> None:
    with pytest.raises(BadInputError) as raised:
        check_threshold(1.0, "!=", 1.0)
    assert str(raised.value) == "unknown comparison '!='; use one of >=, <=, >, <, =="


def test_a_criterion_reads_back_as_it_is_written() -> None:
    assert str(Criterion("accuracy", ">=", 0.9)) == "accuracy>=0.9"
    assert str(parse_criterion(" f1 < 1e-3 ")) == "f1<0.001"


def test_a_criterion_whose_number_does_not_parse_is_bad_input() -> None:
    with pytest.raises(BadInputError) as raised:
        parse_criterion("accuracy>=1.2.3")
    assert str(raised.value) == "criterion 'accuracy>=1.2.3' has no number to compare with"


def test_a_criterion_that_does_not_read_gives_an_example() -> None:
    with pytest.raises(BadInputError) as raised:
        parse_criterion("accuracy")
    assert str(raised.value) == (
        "cannot read criterion 'accuracy'; write it like 'accuracy>=0.9' or "
        "'accuracy>=production-0.02'"
    )


def test_metric_thresholds_say_what_was_measured_against_what() -> None:
    criteria = [parse_criterion("accuracy>=0.9"), parse_criterion("loss<0.5")]
    assert metric_thresholds_gate({"accuracy": 0.9, "loss": 0.5}, criteria) == [
        Verdict("metric:accuracy", P, "accuracy=0.9 meets accuracy>=0.9"),
        Verdict("metric:loss", F, "loss=0.5 misses loss<0.5"),
    ]
    assert metric_thresholds_gate({}, criteria[:1]) == [
        Verdict("metric:accuracy", INC, "accuracy was never recorded")
    ]


MIN_REQUESTS = {
    "one short of the minimum waits": (
        M(request_count=99),
        Verdict("min_requests", INC, "only 99 of the 100 requests needed to judge"),
    ),
    "exactly the minimum is enough": (
        M(request_count=100),
        Verdict("min_requests", P, "100 requests seen"),
    ),
}


@pytest.mark.parametrize(("metrics", "verdict"), MIN_REQUESTS.values(), ids=MIN_REQUESTS.keys())
def test_the_minimum_of_requests_is_inclusive(metrics: M, verdict: Verdict) -> None:
    assert min_requests_gate(metrics, 100) == verdict


ERROR_RATE = {
    "below the minimum, errors the minimum can still absorb wait": (
        M(request_count=10, error_count=1),
        Verdict("error_rate", INC, "only 10 of the 100 requests needed to judge"),
    ),
    "below the minimum, errors just over what it absorbs fail at once": (
        M(request_count=10, error_count=2),
        Verdict(
            "error_rate",
            F,
            "2 errors in 10 requests: the error rate cannot stay within 1.00% over the 100 "
            "requests needed to judge",
        ),
    ),
    "a rate exactly at the threshold passes": (
        M(request_count=100, error_count=1),
        Verdict("error_rate", P, "error rate 1.00% is within 1.00%"),
    ),
    "a rate just above the threshold fails": (
        M(request_count=199, error_count=2),
        Verdict("error_rate", F, "error rate 1.01% is above 1.00%"),
    ),
    "no errors pass": (
        M(request_count=100),
        Verdict("error_rate", P, "error rate 0.00% is within 1.00%"),
    ),
}


@pytest.mark.parametrize(("metrics", "verdict"), ERROR_RATE.values(), ids=ERROR_RATE.keys())
def test_the_error_rate_gate_at_its_boundaries(metrics: M, verdict: Verdict) -> None:
    assert error_rate_gate(metrics, 0.01, 100, 1.0) == verdict


def test_errors_exactly_at_what_the_minimum_absorbs_still_wait() -> None:
    verdict = error_rate_gate(M(request_count=10, error_count=2), 0.02, 100, 1.0)
    assert verdict == Verdict("error_rate", INC, "only 10 of the 100 requests needed to judge")


@pytest.mark.parametrize(
    ("requests", "errors", "confidence", "status"),
    [
        (25, 5, 0.99, F),  # one in five, sure at 99% by the 25th request
        (20, 4, 0.99, INC),
        (20, 4, 0.98, F),
        (25, 5, 1.0, INC),  # certainty only: the 6th error
        (30, 6, 1.0, F),
        (100, 5, 0.9, P),  # at the minimum the full-sample rule judges, whatever the confidence
    ],
)
def test_the_error_rate_gate_fails_early_at_its_confidence(
    requests: int, errors: int, confidence: float, status: VerdictStatus
) -> None:
    verdict = error_rate_gate(M(request_count=requests, error_count=errors), 0.05, 100, confidence)
    assert verdict.status is status


def test_an_early_failure_at_a_confidence_says_so() -> None:
    verdict = error_rate_gate(M(request_count=25, error_count=5), 0.05, 100, 0.99)
    assert verdict == Verdict(
        "error_rate",
        F,
        "5 errors in 25 requests: the error rate is over 5.00% at 99% confidence (one-sided "
        "binomial test), before the 100 requests needed to judge",
    )


LATENCY = {
    "exactly the multiplier passes": (
        M(p95_ms=150.0),
        M(p95_ms=100.0),
        Verdict("latency_p95", P, "p95 150.0 ms is within 150.0 ms"),
    ),
    "just over the multiplier fails": (
        M(p95_ms=150.1),
        M(p95_ms=100.0),
        Verdict("latency_p95", F, "p95 150.1 ms is above 1.5x the baseline's 100.0 ms"),
    ),
    "no candidate figure waits and says whose is missing": (
        M(),
        M(p95_ms=100.0),
        Verdict("latency_p95", INC, "no p95 latency for the candidate yet"),
    ),
    "no baseline figure waits and says whose is missing": (
        M(p95_ms=100.0),
        M(),
        Verdict("latency_p95", INC, "no p95 latency for the baseline yet"),
    ),
    "neither figure names the candidate first": (
        M(),
        M(),
        Verdict("latency_p95", INC, "no p95 latency for the candidate yet"),
    ),
}


@pytest.mark.parametrize(("new", "old", "verdict"), LATENCY.values(), ids=LATENCY.keys())
def test_the_latency_gate_at_its_boundaries(new: M, old: M, verdict: Verdict) -> None:
    assert latency_gate(new, old, 1.5, "p95") == verdict


def test_the_latency_gate_reads_the_quantile_it_is_asked_for() -> None:
    new, old = M(p95_ms=1.0, p99_ms=400.0), M(p95_ms=1.0, p99_ms=100.0)
    assert latency_gate(new, old, 2.0, "p99") == Verdict(
        "latency_p99", F, "p99 400.0 ms is above 2x the baseline's 100.0 ms"
    )
    assert latency_gate(new, old, 2.0, "p95") == Verdict(
        "latency_p95", P, "p95 1.0 ms is within 2.0 ms"
    )


CONFIG = RollbackConfig(0.01, 1.5, 100, 30.0)
BASELINE = M(request_count=1000, p95_ms=100.0, p99_ms=200.0)


def test_health_gates_below_the_minimum_report_only_the_wait() -> None:
    assert health_gates(M(request_count=99, p95_ms=900.0), BASELINE, CONFIG) == [
        Verdict("min_requests", INC, "only 99 of the 100 requests needed to judge")
    ]


def test_health_gates_below_the_minimum_report_only_a_certain_failure() -> None:
    assert health_gates(M(request_count=5, error_count=2), BASELINE, CONFIG) == [
        Verdict(
            "error_rate",
            F,
            "2 errors in 5 requests: the error rate cannot stay within 1.00% over the 100 "
            "requests needed to judge",
        )
    ]


def test_health_gates_below_the_minimum_fail_early_at_the_configs_confidence() -> None:
    candidate = M(request_count=25, error_count=5)
    sure = RollbackConfig(0.05, 1.5, 100, 30.0, early_fail_confidence=0.99)
    [verdict] = health_gates(candidate, BASELINE, sure)
    assert verdict.status is F and "at 99% confidence" in verdict.message
    certain_only = RollbackConfig(0.05, 1.5, 100, 30.0, early_fail_confidence=1.0)
    assert [v.status for v in health_gates(candidate, BASELINE, certain_only)] == [INC]


def test_health_gates_at_the_minimum_judge_errors_p95_and_p99_with_the_configs_bounds() -> None:
    candidate = M(request_count=100, error_count=1, p95_ms=150.0, p99_ms=301.0)
    assert health_gates(candidate, BASELINE, CONFIG) == [
        Verdict("error_rate", P, "error rate 1.00% is within 1.00%"),
        Verdict("latency_p95", P, "p95 150.0 ms is within 150.0 ms"),
        Verdict("latency_p99", F, "p99 301.0 ms is above 1.5x the baseline's 200.0 ms"),
    ]


SHADOW_AGE = {
    "never in shadow fails": (
        None,
        Verdict("shadow_age", F, "the version has never been in shadow"),
    ),
    "a second short waits, in seconds": (
        NOW - timedelta(seconds=59),
        Verdict("shadow_age", INC, "in shadow for 59 s of the 60 s required"),
    ),
    "exactly the minimum passes": (
        NOW - timedelta(seconds=60),
        Verdict("shadow_age", P, "in shadow since 2026-11-22T11:59:00+00:00"),
    ),
}


@pytest.mark.parametrize(("entered", "verdict"), SHADOW_AGE.values(), ids=SHADOW_AGE.keys())
def test_the_shadow_age_gate_at_its_boundary(entered: datetime | None, verdict: Verdict) -> None:
    assert shadow_age_gate(entered, NOW, 1 / 60) == verdict


DURATIONS = {
    "under two minutes in seconds": (119, 1.0, "in shadow for 119 s of the 60.0 min required"),
    "two minutes in minutes": (120, 1.0, "in shadow for 2.0 min of the 60.0 min required"),
    "just under two hours in minutes": (7199, 3.0, "in shadow for 120.0 min of the 3.0 h required"),
    "two hours in hours": (7200, 3.0, "in shadow for 2.0 h of the 3.0 h required"),
    "many hours in hours": (3_600_000, 2000.0, "in shadow for 1000.0 h of the 2000.0 h required"),
}


@pytest.mark.parametrize(("seconds", "hours", "message"), DURATIONS.values(), ids=DURATIONS.keys())
def test_a_young_shadow_says_its_age_in_the_unit_a_person_reads(
    seconds: int, hours: float, message: str
) -> None:
    verdict = shadow_age_gate(NOW - timedelta(seconds=seconds), NOW, hours)
    assert verdict == Verdict("shadow_age", INC, message)


AGREEMENT = {
    "no comparison at all waits": (
        ShadowStats(),
        Verdict("shadow_agreement", INC, "only 0 of the 10 shadow comparisons needed"),
    ),
    "one comparison short waits, however well it agreed": (
        ShadowStats(compared=9, agreed=9),
        Verdict("shadow_agreement", INC, "only 9 of the 10 shadow comparisons needed"),
    ),
    "exactly the minimum agreement passes": (
        ShadowStats(compared=10, agreed=9),
        Verdict("shadow_agreement", P, "shadow agreement 90.0% over 10 requests"),
    ),
    "just below the minimum agreement fails": (
        ShadowStats(compared=20, agreed=17),
        Verdict("shadow_agreement", F, "shadow agreement 85.0% is below 90.0% over 20 requests"),
    ),
}


@pytest.mark.parametrize(("stats", "verdict"), AGREEMENT.values(), ids=AGREEMENT.keys())
def test_the_shadow_agreement_gate_at_its_boundaries(stats: ShadowStats, verdict: Verdict) -> None:
    assert shadow_agreement_gate(stats, 0.9, 10) == verdict


def test_the_agreement_gate_needs_comparisons_even_when_its_minimum_is_zero() -> None:
    assert shadow_agreement_gate(ShadowStats(), 0.9, 0).status is INC


def test_overall_and_unmet_read_every_verdict() -> None:
    verdicts = [Verdict("a", P, "fine"), Verdict("b", INC, "wait"), Verdict("c", F, "bad")]
    assert overall(verdicts) is F
    assert overall(verdicts[:2]) is INC
    assert overall(verdicts[:1]) is P
    assert overall([]) is INC
    assert unmet(verdicts) == ["wait", "bad"]
    assert Verdict("a", P, "").passed and not Verdict("a", INC, "").passed


POLICIES = {
    "a negative shadow time": (
        {"shadow_min_hours": -0.001},
        "shadow_min_hours cannot be negative",
    ),
    "no comparison at all": (
        {"min_shadow_comparisons": 0},
        "min_shadow_comparisons must be at least 1",
    ),
    "an agreement below 0": (
        {"min_shadow_agreement": -0.001},
        "min_shadow_agreement must be a fraction between 0 and 1",
    ),
    "an agreement above 1": (
        {"min_shadow_agreement": 1.001},
        "min_shadow_agreement must be a fraction between 0 and 1",
    ),
}


@pytest.mark.parametrize(("kwargs", "message"), POLICIES.values(), ids=POLICIES.keys())
def test_a_nonsensical_promotion_policy_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(BadInputError) as raised:
        PromotionPolicy(**kwargs)  # type: ignore[arg-type]
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shadow_min_hours": 0.0},
        {"min_shadow_comparisons": 1},
        {"min_shadow_agreement": 0.0},
        {"min_shadow_agreement": 1.0},
    ],
    ids=["no shadow time", "one comparison", "agreement 0", "agreement 1"],
)
def test_a_promotion_policy_at_its_bounds_is_accepted(kwargs: dict[str, float]) -> None:
    PromotionPolicy(**kwargs)  # type: ignore[arg-type]


def test_the_promotion_policy_defaults() -> None:
    assert PromotionPolicy() == PromotionPolicy(24.0, 1000, 0.95)


POLICY = PromotionPolicy(shadow_min_hours=1.0, min_shadow_comparisons=10, min_shadow_agreement=0.9)
AGE_PASSED = Verdict("shadow_age", P, "in shadow since 2026-11-22T11:00:00+00:00")


def gates(**kwargs: object) -> list[Verdict]:
    args: dict[str, object] = {
        "metrics": {"accuracy": 0.95},
        "criteria": [parse_criterion("accuracy>=0.9")],
        "entered_shadow_at": NOW - timedelta(hours=1),
        "now": NOW,
        "shadow": ShadowStats(compared=10, agreed=10),
        "has_production": True,
        "policy": POLICY,
    }
    return production_gates(**{**args, **kwargs})  # type: ignore[arg-type]


def test_a_version_that_meets_everything_passes_every_production_gate() -> None:
    assert gates() == [
        Verdict("metric:accuracy", P, "accuracy=0.95 meets accuracy>=0.9"),
        AGE_PASSED,
        Verdict("shadow_agreement", P, "shadow agreement 100.0% over 10 requests"),
    ]


def test_production_gates_hold_the_policys_own_bounds() -> None:
    verdicts = gates(
        entered_shadow_at=NOW - timedelta(minutes=59), shadow=ShadowStats(compared=10, agreed=8)
    )
    assert verdicts[1:] == [
        Verdict("shadow_age", INC, "in shadow for 59.0 min of the 60.0 min required"),
        Verdict("shadow_agreement", F, "shadow agreement 80.0% is below 90.0% over 10 requests"),
    ]
    assert gates(shadow=ShadowStats(compared=9, agreed=9))[2] == Verdict(
        "shadow_agreement", INC, "only 9 of the 10 shadow comparisons needed"
    )


def test_a_version_without_criteria_fails_production_and_is_told_how_to_add_them() -> None:
    assert gates(criteria=[])[0] == Verdict(
        "criteria", F, "no success criteria are set; add them with 'deployer criteria NAME VERSION'"
    )
    assert len(gates(criteria=[])) == 3


def test_a_later_production_version_that_was_never_mirrored_waits() -> None:
    assert gates(shadow=None)[2] == Verdict(
        "shadow_agreement",
        INC,
        "the version was never mirrored: deploy it with the shadow strategy first",
    )


def test_the_first_production_version_passes_the_agreement_gate_and_says_why() -> None:
    assert gates(shadow=None, has_production=False)[2] == Verdict(
        "shadow_agreement",
        P,
        "first production version of this model: no production outputs to compare with",
    )
