"""Gates that compare with production: relative criteria (parsed by ``lifecycle.gates``, judged
by ``lifecycle.comparing_gates``) and the shadow's latency and error gates. Whole verdicts are
compared, so a reworded message or a moved boundary is seen."""

from __future__ import annotations

import math

import pytest

from lifecycle.comparing_gates import (
    ProductionComparison,
    comparing_gates,
    comparison_of,
    relative_gate,
    shadow_error_gate,
    shadow_latency_gate,
)
from lifecycle.errors import BadInputError
from lifecycle.gates import (
    Criterion,
    PromotionPolicy,
    Verdict,
    VerdictStatus,
    metric_thresholds_gate,
    parse_criterion,
    production_gates,
)
from lifecycle.latency import bucket_of
from lifecycle.metrics import ShadowStats

P, F, INC = VerdictStatus.PASSED, VerdictStatus.FAILED, VerdictStatus.INCONCLUSIVE


# -- parsing ---


@pytest.mark.parametrize(
    ("text", "criterion", "written"),
    [
        ("accuracy >= production - 0.02", Criterion("accuracy", ">=", -0.02, True), None),
        ("accuracy>=production-0.02", Criterion("accuracy", ">=", -0.02, True), None),
        ("auc > production", Criterion("auc", ">", 0.0, True), "auc>production"),
        ("f1>=production + 0.01", Criterion("f1", ">=", 0.01, True), "f1>=production+0.01"),
        ("loss <= production+1e-3", Criterion("loss", "<=", 0.001, True), "loss<=production+0.001"),
        ("latency<production", Criterion("latency", "<", 0.0, True), None),
        ("x==production-0", Criterion("x", "==", 0.0, True), "x==production"),
        ("accuracy>=0.9", Criterion("accuracy", ">=", 0.9), None),
        (" delta == -1 ", Criterion("delta", "==", -1.0), "delta==-1"),
    ],
)
def test_relative_and_absolute_criteria_are_read_and_written_back(
    text: str, criterion: Criterion, written: str | None
) -> None:
    parsed = parse_criterion(text)
    assert parsed == criterion
    assert str(parsed) == (written or text.replace(" ", ""))
    assert parse_criterion(str(parsed)) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "accuracy>=production-",
        "accuracy>=production--0.02",
        "accuracy>=production*0.9",
        "accuracy>=prod",
        "accuracy>=Production",
        "production",
        "accuracy>=0.9-production",
    ],
)
def test_a_relative_criterion_that_does_not_read_is_bad_input(text: str) -> None:
    with pytest.raises(BadInputError) as raised:
        parse_criterion(text)
    assert str(raised.value) == (
        f"cannot read criterion {text!r}; write it like 'accuracy>=0.9' or "
        "'accuracy>=production-0.02'"
    )


def test_an_offset_that_is_not_a_number_is_bad_input() -> None:
    with pytest.raises(BadInputError) as raised:
        parse_criterion("accuracy>=production-1.2.3")
    assert str(raised.value) == (
        "criterion 'accuracy>=production-1.2.3' has no number to compare with"
    )


def test_an_infinite_offset_is_bad_input() -> None:
    with pytest.raises(BadInputError) as raised:
        parse_criterion("accuracy>=production+1e999")
    assert str(raised.value) == (
        "criterion 'accuracy>=production+1e999' compares with inf, not a finite number"
    )


def test_a_relative_criterion_never_passes_where_production_is_not_known() -> None:
    criteria = [parse_criterion("accuracy>=production-0.02")]
    assert metric_thresholds_gate({"accuracy": 0.99}, criteria) == [
        Verdict(
            "vs_production:accuracy",
            INC,
            "accuracy>=production-0.02 compares with the production version: judged at promotion",
        )
    ]


# -- judging relative criteria ---

REGISTERED = ProductionComparison("3", {"accuracy": 0.93, "auc": 0.90}, {"accuracy": 0.94})
HELD_OUT = ProductionComparison("3", {"accuracy": 0.91}, {"accuracy": 0.94}, rows=150)
HELD = "on the same held-out data (150 rows)"
REG = "on registered metrics"

RELATIVE = {
    "within the margin passes": (
        "accuracy>=production-0.02",
        REGISTERED,
        Verdict(
            "vs_production:accuracy",
            P,
            f"accuracy=0.93 meets accuracy>=production-0.02 (production v3: 0.94, bar 0.92) {REG}",
        ),
    ),
    "at the bar exactly passes (0.94 - 0.02 is 0.92, not 0.9199...)": (
        "accuracy>=production-0.02",
        ProductionComparison("3", {"accuracy": 0.92}, {"accuracy": 0.94}),
        Verdict(
            "vs_production:accuracy",
            P,
            f"accuracy=0.92 meets accuracy>=production-0.02 (production v3: 0.94, bar 0.92) {REG}",
        ),
    ),
    "worse than the margin fails, on held-out data": (
        "accuracy>=production-0.02",
        HELD_OUT,
        Verdict(
            "vs_production:accuracy",
            F,
            "accuracy=0.91 misses accuracy>=production-0.02 (production v3: 0.94, bar 0.92) "
            + HELD,
        ),
    ),
    "strictly better needed, equal fails": (
        "accuracy>production",
        ProductionComparison("3", {"accuracy": 0.94}, {"accuracy": 0.94}),
        Verdict(
            "vs_production:accuracy",
            F,
            f"accuracy=0.94 misses accuracy>production (production v3: 0.94, bar 0.94) {REG}",
        ),
    ),
    "a positive offset raises the bar": (
        "accuracy>=production+0.01",
        ProductionComparison("3", {"accuracy": 0.945}, {"accuracy": 0.94}),
        Verdict(
            "vs_production:accuracy",
            F,
            "accuracy=0.945 misses accuracy>=production+0.01 (production v3: 0.94, bar 0.95) "
            + REG,
        ),
    ),
    "lower is better for a loss": (
        "loss<=production",
        ProductionComparison("3", {"loss": 0.2}, {"loss": 0.25}),
        Verdict(
            "vs_production:loss",
            P,
            f"loss=0.2 meets loss<=production (production v3: 0.25, bar 0.25) {REG}",
        ),
    ),
    "no production version passes: the first version has nothing to beat": (
        "auc>production",
        ProductionComparison(None),
        Verdict("vs_production:auc", P, "auc>production: no production version to compare with"),
    ),
    "a metric the candidate lacks fails": (
        "f1>=production",
        REGISTERED,
        Verdict(
            "vs_production:f1",
            F,
            f"f1>=production cannot be judged: f1 of the candidate is unknown {REG}",
        ),
    ),
    "a metric production lacks fails": (
        "auc>production",
        REGISTERED,
        Verdict(
            "vs_production:auc",
            F,
            f"auc>production cannot be judged: auc of v3 is unknown {REG}",
        ),
    ),
    "a metric the evaluation lacks fails, whatever was registered": (
        "auc>production",
        HELD_OUT,
        Verdict(
            "vs_production:auc",
            F,
            f"auc>production cannot be judged: auc of the candidate is unknown {HELD}",
        ),
    ),
    "a figure that is not finite fails": (
        "accuracy>=production",
        ProductionComparison("3", {"accuracy": 0.9}, {"accuracy": math.nan}),
        Verdict("vs_production:accuracy", F, "accuracy of v3 is nan, not a finite number"),
    ),
}


@pytest.mark.parametrize(("text", "comparison", "verdict"), RELATIVE.values(), ids=RELATIVE)
def test_a_relative_criterion_is_judged_against_production(
    text: str, comparison: ProductionComparison, verdict: Verdict
) -> None:
    assert relative_gate(parse_criterion(text), comparison) == verdict


EVALUATION = {
    "rows": 150,
    "candidate": {"accuracy": 0.91, "auc": 0.95},
    "production": {"version": "3", "accuracy": 0.94, "auc": 0.93},
}

COMPARISONS = {
    "the evaluation of this production version is used": (
        "3",
        EVALUATION,
        ProductionComparison(
            "3", {"accuracy": 0.91, "auc": 0.95}, {"accuracy": 0.94, "auc": 0.93}, 150
        ),
    ),
    "an evaluation against another production version is not": (
        "4",
        EVALUATION,
        ProductionComparison("4", {"accuracy": 0.5}, {"accuracy": 0.6}),
    ),
    "no evaluation: the registered metrics": (
        "3",
        None,
        ProductionComparison("3", {"accuracy": 0.5}, {"accuracy": 0.6}),
    ),
    "an evaluation without a candidate side is not one": (
        "3",
        {"rows": 150, "production": {"version": "3"}},
        ProductionComparison("3", {"accuracy": 0.5}, {"accuracy": 0.6}),
    ),
    "an evaluation that does not say how many rows is not one": (
        "3",
        {key: value for key, value in EVALUATION.items() if key != "rows"},
        ProductionComparison("3", {"accuracy": 0.5}, {"accuracy": 0.6}),
    ),
    "an evaluation whose rows do not read is not one": (
        "3",
        {**EVALUATION, "rows": "many"},
        ProductionComparison("3", {"accuracy": 0.5}, {"accuracy": 0.6}),
    ),
    "figures that are not numbers are left out": (
        "3",
        {"rows": 9, "candidate": {"accuracy": "high", "ok": True}, "production": {"version": 3}},
        ProductionComparison("3", {}, {}, 9),
    ),
    "no production version: nothing to compare": (None, EVALUATION, ProductionComparison(None)),
}


@pytest.mark.parametrize(
    ("production", "evaluation", "comparison"), COMPARISONS.values(), ids=COMPARISONS
)
def test_what_a_relative_criterion_compares(
    production: str | None, evaluation: dict[str, object] | None, comparison: ProductionComparison
) -> None:
    found = comparison_of({"accuracy": 0.5}, production, {"accuracy": 0.6}, evaluation)
    assert found == comparison


# -- shadow latency and errors ---


def mirrored(requests: int, primary_ms: float, shadow_ms: float, errors: int = 0) -> ShadowStats:
    """``requests`` mirrored requests, each timed at these latencies, ``errors`` of them failed."""
    return ShadowStats(
        compared=requests - errors,
        agreed=requests - errors,
        shadow_errors=errors,
        primary_latency={bucket_of(primary_ms): requests},
        shadow_latency={bucket_of(shadow_ms): requests},
    )


LATENCY = {
    "no mirrored request is inconclusive": (
        ShadowStats(),
        Verdict(
            "shadow_latency",
            INC,
            "only 0 of the 100 mirrored requests needed to compare latency",
        ),
    ),
    "one short of the minimum is inconclusive, however slow": (
        mirrored(99, 10.0, 500.0),
        Verdict(
            "shadow_latency",
            INC,
            "only 99 of the 100 mirrored requests needed to compare latency",
        ),
    ),
    "as fast as the primary passes": (
        mirrored(100, 100.0, 100.0),
        Verdict(
            "shadow_latency",
            P,
            "shadow p95 98.0 ms is within 117.6 ms of the primary's 98.0 ms "
            "over 100 mirrored requests",
        ),
    ),
    "just within 1.2x passes": (
        mirrored(100, 100.0, 118.0),
        Verdict(
            "shadow_latency",
            P,
            "shadow p95 114.3 ms is within 117.6 ms of the primary's 98.0 ms "
            "over 100 mirrored requests",
        ),
    ),
    "above 1.2x fails": (
        mirrored(100, 100.0, 130.0),
        Verdict(
            "shadow_latency",
            F,
            "shadow p95 133.3 ms is above 117.6 ms (1.2x the primary's 98.0 ms, or 5 ms above "
            "it) over 100 mirrored requests",
        ),
    ),
    "a gap under the slack passes on a fast model": (
        mirrored(100, 2.0, 6.0),
        Verdict(
            "shadow_latency",
            P,
            "shadow p95 6.1 ms is within 6.9 ms of the primary's 1.9 ms over 100 mirrored requests",
        ),
    ),
    "a gap beyond the slack fails on a fast model": (
        mirrored(100, 2.0, 8.0),
        Verdict(
            "shadow_latency",
            F,
            "shadow p95 7.7 ms is above 6.9 ms (1.2x the primary's 1.9 ms, or 5 ms above it) "
            "over 100 mirrored requests",
        ),
    ),
}


@pytest.mark.parametrize(("stats", "verdict"), LATENCY.values(), ids=LATENCY)
def test_the_shadow_latency_gate(stats: ShadowStats, verdict: Verdict) -> None:
    assert shadow_latency_gate(stats, ratio=1.2, slack_ms=5.0, min_requests=100) == verdict


def test_the_latency_gate_reads_each_sides_p95_not_its_slowest_request() -> None:
    stats = ShadowStats(
        compared=100,
        agreed=100,
        primary_latency={bucket_of(10.0): 96, bucket_of(500.0): 4},
        shadow_latency={bucket_of(11.0): 96, bucket_of(900.0): 4},
    )
    assert shadow_latency_gate(stats, ratio=1.2, slack_ms=0.0, min_requests=100) == Verdict(
        "shadow_latency",
        P,
        "shadow p95 11.4 ms is within 11.7 ms of the primary's 9.7 ms over 100 mirrored requests",
    )


def test_the_shadow_latency_bound_itself_passes_and_one_bucket_above_fails() -> None:
    same, slower = mirrored(100, 50.0, 50.0), mirrored(100, 50.0, 54.0)
    assert shadow_latency_gate(same, ratio=1.0, slack_ms=0.0, min_requests=100).status is P
    assert shadow_latency_gate(slower, ratio=1.0, slack_ms=0.0, min_requests=100).status is F
    assert shadow_latency_gate(slower, ratio=1.0, slack_ms=4.0, min_requests=100).status is P


ERRORS = {
    "no mirrored request is inconclusive": (
        ShadowStats(),
        Verdict(
            "shadow_errors",
            INC,
            "only 0 of the 100 mirrored requests needed to judge shadow errors",
        ),
    ),
    "too few is inconclusive even when every one failed": (
        mirrored(99, 5.0, 5.0, errors=99),
        Verdict(
            "shadow_errors",
            INC,
            "only 99 of the 100 mirrored requests needed to judge shadow errors",
        ),
    ),
    "exactly the minimum is judged": (
        mirrored(100, 5.0, 5.0, errors=1),
        Verdict(
            "shadow_errors",
            P,
            "shadow error rate 1.00% (1 of 100 mirrored requests) is within 1.00%",
        ),
    ),
    "at the threshold passes": (
        mirrored(200, 5.0, 5.0, errors=2),
        Verdict(
            "shadow_errors",
            P,
            "shadow error rate 1.00% (2 of 200 mirrored requests) is within 1.00%",
        ),
    ),
    "above the threshold fails": (
        mirrored(200, 5.0, 5.0, errors=3),
        Verdict(
            "shadow_errors",
            F,
            "shadow error rate 1.50% (3 of 200 mirrored requests) is above 1.00%",
        ),
    ),
}


@pytest.mark.parametrize(("stats", "verdict"), ERRORS.values(), ids=ERRORS)
def test_the_shadow_error_gate(stats: ShadowStats, verdict: Verdict) -> None:
    assert shadow_error_gate(stats, threshold=0.01, min_requests=100) == verdict


def test_shadow_figures_add_up_histograms_and_all() -> None:
    total = mirrored(10, 5.0, 6.0) + mirrored(5, 5.0, 9.0, errors=1) + ShadowStats()
    assert total == ShadowStats(
        compared=14,
        agreed=14,
        shadow_errors=1,
        primary_latency={bucket_of(5.0): 15},
        shadow_latency={bucket_of(6.0): 10, bucket_of(9.0): 5},
    )
    assert total.requests == 15
    assert ShadowStats.total([]) == ShadowStats(0, 0, 0, {}, {})


def test_shadow_figures_read_the_gateways_histograms() -> None:
    figures = {
        "compared": 3,
        "agreed": 2,
        "shadow_errors": 1,
        "primary_latency_histogram": {"40": 3, "41": 1},
        "shadow_latency_histogram": {"60": 4},
    }
    assert ShadowStats.from_figures(figures) == ShadowStats(3, 2, 1, {40: 3, 41: 1}, {60: 4})
    assert ShadowStats.from_figures({"shadow_latency_histogram": "?"}).requests == 0


# -- together ---

POLICY = PromotionPolicy(min_shadow_comparisons=100)


def test_every_comparing_gate_a_worse_candidate_misses_is_listed() -> None:
    criteria = [
        parse_criterion("accuracy>=0.5"),
        parse_criterion("accuracy>=production-0.02"),
        parse_criterion("auc>production"),
    ]
    comparison = ProductionComparison(
        "3", {"accuracy": 0.9, "auc": 0.8}, {"accuracy": 0.95, "auc": 0.8}
    )
    verdicts = comparing_gates(
        criteria=criteria,
        comparison=comparison,
        shadow=mirrored(200, 10.0, 40.0, errors=10),
        policy=POLICY,
        error_threshold=0.01,
    )
    assert [(v.gate, v.status) for v in verdicts] == [
        ("vs_production:accuracy", F),
        ("vs_production:auc", F),
        ("shadow_latency", F),
        ("shadow_errors", F),
    ]


def test_a_version_never_mirrored_gets_no_shadow_latency_or_error_gate() -> None:
    verdicts = comparing_gates(
        criteria=[],
        comparison=ProductionComparison(None),
        shadow=None,
        policy=POLICY,
        error_threshold=0.01,
    )
    assert verdicts == []


def test_relative_criteria_alone_are_stated_criteria_for_production() -> None:
    verdicts = production_gates(
        metrics={},
        criteria=[parse_criterion("accuracy>=production")],
        entered_shadow_at=None,
        now=__import__("datetime").datetime(2026, 1, 1),
        shadow=None,
        has_production=False,
        policy=POLICY,
    )
    assert [v.gate for v in verdicts] == ["shadow_age", "shadow_agreement"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shadow_latency_ratio": 0.99}, "shadow_latency_ratio must be at least 1.0"),
        ({"shadow_latency_ratio": math.nan}, "shadow_latency_ratio must be at least 1.0"),
        ({"shadow_latency_slack_ms": -1.0}, "shadow_latency_slack_ms cannot be negative"),
    ],
)
def test_the_shadow_latency_policy_holds_its_bounds(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(BadInputError) as raised:
        PromotionPolicy(**kwargs)  # type: ignore[arg-type]
    assert str(raised.value) == message
    assert PromotionPolicy(shadow_latency_ratio=1.0, shadow_latency_slack_ms=0.0)
