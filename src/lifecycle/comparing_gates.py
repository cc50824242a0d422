"""Gates that compare a candidate with production: relative criteria and the shadow's latency
and errors (issue 15).

A relative criterion (``accuracy >= production - 0.02``, ``auc > production``) is judged against
the CURRENT production version's figure. When the retraining agent evaluated the candidate
against that very version on the same held-out data, both sides come from that evaluation;
otherwise from the two versions' registered metrics, and the verdict says which. With no
production version there is nothing to beat: the criterion passes and says so (the first
version of a model). A metric missing on either side fails: a comparison that cannot be made is
no reason to promote.

The shadow gates read what the gateway measured on the same mirrored requests: the shadow's p95
against the primary's (at most ``ratio`` times it, or ``slack_ms`` above it, whichever is
larger), and the shadow's error rate against the rollback config's threshold (the bar a canary
is held to; the primary's own errors are never mirrored, so "the primary's plus a margin" would
compare with zero). Too few mirrored requests is inconclusive, never passed, as for agreement.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.gates import (
    Criterion,
    PromotionPolicy,
    Verdict,
    VerdictStatus,
    check_threshold,
    not_finite,
)
from lifecycle.latency import quantile
from lifecycle.metrics import ShadowStats

DECIMALS = 12
"""Figures are compared at this many decimals, so that ``0.94 - 0.02`` is ``0.92``."""


@dataclass(frozen=True, slots=True)
class ProductionComparison:
    """The figures a relative criterion reads: the candidate's and the production version's,
    on the same held-out data (``rows``) or on their registered metrics (``rows`` None)."""

    production_version: str | None
    """The version in production now; None: the model has none."""
    candidate: Mapping[str, float] = field(default_factory=dict)
    production: Mapping[str, float] = field(default_factory=dict)
    rows: int | None = None
    """Held-out rows both were evaluated on; None: the registered metrics are compared."""

    @property
    def basis(self) -> str:
        """Which figures were compared, as the verdicts say it."""
        if self.rows is None:
            return "on registered metrics"
        return f"on the same held-out data ({self.rows} rows)"


def comparison_of(
    candidate: Mapping[str, float],
    production_version: str | None,
    production: Mapping[str, float],
    evaluation: Mapping[str, Any] | None = None,
) -> ProductionComparison:
    """What to compare: the retraining evaluation when it compared the candidate with this very
    production version (``{"rows": n, "candidate": {...}, "production": {"version": v, ...}}``),
    else the registered metrics of both versions."""
    if production_version is None:
        return ProductionComparison(None)
    found = _evaluated(evaluation, production_version)
    if found is not None:
        return found
    return ProductionComparison(production_version, dict(candidate), dict(production))


def _evaluated(
    evaluation: Mapping[str, Any] | None, production_version: str
) -> ProductionComparison | None:
    """The evaluation as a comparison, if it is one of this production version."""
    if not evaluation:
        return None
    theirs, ours = evaluation.get("production"), evaluation.get("candidate")
    if not isinstance(theirs, Mapping) or not isinstance(ours, Mapping):
        return None
    if str(theirs.get("version")) != production_version:
        return None
    try:
        rows = int(evaluation["rows"])
    except (KeyError, TypeError, ValueError):
        return None
    production = {k: v for k, v in theirs.items() if k != "version"}
    return ProductionComparison(production_version, _numbers(ours), _numbers(production), rows)


def _numbers(figures: Mapping[str, Any]) -> dict[str, float]:
    """The numeric figures of an evaluation side (anything else is left out, so missing)."""
    found = {}
    for name, value in figures.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[str(name)] = float(value)
    return found


def relative_gate(criterion: Criterion, comparison: ProductionComparison) -> Verdict:
    """One relative criterion judged against the production version's figure."""
    gate = f"vs_production:{criterion.metric}"
    metric, version = criterion.metric, comparison.production_version
    if version is None:
        return Verdict(
            gate, VerdictStatus.PASSED, f"{criterion}: no production version to compare with"
        )
    for side, figures in (
        ("the candidate", comparison.candidate),
        (f"v{version}", comparison.production),
    ):
        if metric not in figures:
            return Verdict(
                gate,
                VerdictStatus.FAILED,
                f"{criterion} cannot be judged: {metric} of {side} is unknown {comparison.basis}",
            )
        if not math.isfinite(figures[metric]):
            return not_finite(gate, f"{metric} of {side}", figures[metric])
    ours, theirs = comparison.candidate[metric], comparison.production[metric]
    bar = round(theirs + criterion.threshold, DECIMALS)
    held = check_threshold(round(ours, DECIMALS), criterion.op, bar)
    said = "meets" if held else "misses"
    return Verdict(
        gate,
        VerdictStatus.PASSED if held else VerdictStatus.FAILED,
        f"{metric}={ours:g} {said} {criterion} (production v{version}: {theirs:g}, "
        f"bar {bar:g}) {comparison.basis}",
    )


def shadow_latency_gate(
    stats: ShadowStats, ratio: float, slack_ms: float, min_requests: int
) -> Verdict:
    """The shadow's p95 against the primary's over the same mirrored requests."""
    gate = "shadow_latency"
    count = stats.requests
    primary = quantile(stats.primary_latency, 0.95)
    shadow = quantile(stats.shadow_latency, 0.95)
    if count < min_requests or primary is None or shadow is None:
        return Verdict(
            gate,
            VerdictStatus.INCONCLUSIVE,
            f"only {count} of the {min_requests} mirrored requests needed to compare latency",
        )
    limit = max(primary * ratio, primary + slack_ms)
    if check_threshold(shadow, ">", limit):
        return Verdict(
            gate,
            VerdictStatus.FAILED,
            f"shadow p95 {shadow:.1f} ms is above {limit:.1f} ms ({ratio:g}x the primary's "
            f"{primary:.1f} ms, or {slack_ms:g} ms above it) over {count} mirrored requests",
        )
    return Verdict(
        gate,
        VerdictStatus.PASSED,
        f"shadow p95 {shadow:.1f} ms is within {limit:.1f} ms of the primary's {primary:.1f} ms "
        f"over {count} mirrored requests",
    )


def shadow_error_gate(stats: ShadowStats, threshold: float, min_requests: int) -> Verdict:
    """The shadow's error rate on mirrored requests against the rollback config's threshold."""
    gate = "shadow_errors"
    count = stats.requests
    if count < min_requests:
        return Verdict(
            gate,
            VerdictStatus.INCONCLUSIVE,
            f"only {count} of the {min_requests} mirrored requests needed to judge shadow errors",
        )
    rate = stats.shadow_errors / count
    said = "above" if check_threshold(rate, ">", threshold) else "within"
    return Verdict(
        gate,
        VerdictStatus.FAILED if said == "above" else VerdictStatus.PASSED,
        f"shadow error rate {rate:.2%} ({stats.shadow_errors} of {count} mirrored requests) "
        f"is {said} {threshold:.2%}",
    )


def comparing_gates(
    *,
    criteria: Iterable[Criterion],
    comparison: ProductionComparison,
    shadow: ShadowStats | None,
    policy: PromotionPolicy,
    error_threshold: float,
) -> list[Verdict]:
    """The gates beside ``lifecycle.gates.production_gates`` at a move to production: each
    relative criterion, then (when the version was mirrored) the shadow's latency and errors.
    A version never mirrored is held by the agreement gate already, so nothing is repeated."""
    verdicts = [relative_gate(c, comparison) for c in criteria if c.relative]
    if shadow is not None:
        needed = policy.min_shadow_comparisons
        verdicts.append(
            shadow_latency_gate(
                shadow, policy.shadow_latency_ratio, policy.shadow_latency_slack_ms, needed
            )
        )
        verdicts.append(shadow_error_gate(shadow, error_threshold, needed))
    return verdicts
