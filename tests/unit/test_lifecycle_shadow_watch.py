"""A running shadow judged on the promotion's latency and error gates too
(lifecycle.shadow_watch): the verdicts a judgement keeps, read back as failures, and the
monitor's alert reasons for the shadows that fail one."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle.gates import PromotionPolicy, Verdict, VerdictStatus
from lifecycle.metrics import ShadowStats
from lifecycle.shadow_watch import (
    FIGURES_KEY,
    ShadowEvidence,
    failed_gates,
    gate_figures,
    shadow_gates,
    shadow_problems,
)

POLICY = PromotionPolicy(min_shadow_comparisons=100)


def stats(primary_ms: int, shadow_ms: int, requests: int = 200, errors: int = 0) -> ShadowStats:
    return ShadowStats(
        compared=requests - errors,
        agreed=requests - errors,
        shadow_errors=errors,
        primary_latency={primary_ms: requests},
        shadow_latency={shadow_ms: requests},
    )


@pytest.mark.parametrize(
    ("given", "latency", "errors"),
    [
        (stats(10, 12), VerdictStatus.PASSED, VerdictStatus.PASSED),
        (stats(10, 200), VerdictStatus.FAILED, VerdictStatus.PASSED),  # slow shadow
        (stats(10, 12, errors=40), VerdictStatus.PASSED, VerdictStatus.FAILED),  # 20% errors
        (stats(10, 200, errors=40), VerdictStatus.FAILED, VerdictStatus.FAILED),
        (stats(10, 200, requests=50), VerdictStatus.INCONCLUSIVE, VerdictStatus.INCONCLUSIVE),
    ],
)
def test_a_shadow_is_judged_as_a_promotion_would_judge_it_now(
    given: ShadowStats, latency: VerdictStatus, errors: VerdictStatus
) -> None:
    found = shadow_gates(given, POLICY, error_threshold=0.05)
    assert [(v.gate, v.status) for v in found] == [
        ("shadow_latency", latency),
        ("shadow_errors", errors),
    ]


def test_the_kept_verdicts_read_back_as_the_failed_ones_only() -> None:
    kept = {FIGURES_KEY: gate_figures(shadow_gates(stats(10, 200), POLICY, 0.05))}
    [failed] = failed_gates(kept)
    assert failed.startswith("shadow p95") and "above" in failed


@pytest.mark.parametrize(
    "figures",
    [
        {},  # a judgement from before the gates were kept
        {FIGURES_KEY: "not a list"},
        {FIGURES_KEY: [1, None, "x"]},
        {FIGURES_KEY: [{"gate": "shadow_latency", "status": "passed", "message": "ok"}]},
        {FIGURES_KEY: [{"gate": "shadow_errors", "status": "inconclusive"}]},
    ],
)
def test_anything_else_fails_nothing(figures: dict[str, Any]) -> None:
    assert failed_gates(figures) == ()


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ({"gate": "shadow_errors", "status": "failed", "message": "too many"}, "too many"),
        ({"gate": "shadow_errors", "status": "failed"}, "shadow_errors"),
        ({"gate": "shadow_errors", "status": "failed", "message": ""}, "shadow_errors"),
        ({"status": "failed"}, "a shadow gate failed"),  # neither sentence nor gate
        ({"gate": "", "status": "failed", "message": None}, "a shadow gate failed"),
    ],
)
def test_a_failed_gate_without_its_sentence_is_still_named(
    item: dict[str, Any], named: str
) -> None:
    assert failed_gates({FIGURES_KEY: [item]}) == (named,)


@pytest.mark.parametrize(
    ("verdicts", "figures"),
    [
        ([], []),
        (
            [
                Verdict("shadow_latency", VerdictStatus.FAILED, "slow"),
                Verdict("shadow_errors", VerdictStatus.INCONCLUSIVE, "too few"),
            ],
            [
                {"gate": "shadow_latency", "status": "failed", "message": "slow"},
                {"gate": "shadow_errors", "status": "inconclusive", "message": "too few"},
            ],
        ),
    ],
)
def test_the_verdicts_are_kept_by_gate_status_and_message(
    verdicts: list[Verdict], figures: list[dict[str, str]]
) -> None:
    assert gate_figures(verdicts) == figures


def test_only_the_shadows_that_fail_a_gate_are_problems() -> None:
    shadows = [
        ShadowEvidence(deployment_id="dep-3", version="3", failed=("slow", "erring")),
        ShadowEvidence(deployment_id="dep-4", version="4"),
    ]
    assert shadow_problems(shadows) == (
        ["shadow dep-3 (v3) would not be promoted: slow; erring"],
        ["shadow:dep-3"],
    )
    assert shadow_problems([]) == ([], [])
