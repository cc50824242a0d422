"""Gates: pure checks that return a verdict ``passed | failed | inconclusive`` with a message.

As in Argo Rollouts' analysis and Flagger's "no values found", a lack of data is *inconclusive*
(wait and look again), never *passed*. Every threshold comparison goes through
:func:`check_threshold`, so there is one place that knows what ``>=`` means. A figure that is
not a finite number (NaN, inf) is *failed*: ``inf >= 0.9`` holds and ``nan > limit`` does not,
so comparing it would pass a gate it cannot have met.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from lifecycle.certainty import certainly_over
from lifecycle.errors import BadInputError
from lifecycle.metrics import PerformanceMetrics, ShadowStats
from lifecycle.rollback import RollbackConfig


class VerdictStatus(StrEnum):
    """The outcome of a gate."""

    PASSED = "passed"  # enough data, and it meets the bar
    FAILED = "failed"  # enough data, and it misses the bar: act on it
    INCONCLUSIVE = "inconclusive"  # not enough data to say: wait, never promote


@dataclass(frozen=True, slots=True)
class Verdict:
    """One gate's outcome and why, in a sentence a person can read."""

    gate: str
    status: VerdictStatus
    message: str

    @property
    def passed(self) -> bool:
        return self.status is VerdictStatus.PASSED


_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}


def check_threshold(value: float, op: str, threshold: float) -> bool:
    """Whether ``value op threshold`` holds; the one comparison every gate uses."""
    try:
        return _OPERATORS[op](value, threshold)
    except KeyError:
        raise BadInputError(
            f"unknown comparison {op!r}; use one of {', '.join(_OPERATORS)}"
        ) from None


@dataclass(frozen=True, slots=True)
class Criterion:
    """A success criterion such as ``accuracy >= 0.9``, or, ``relative``, one that compares with
    the production version's figure: ``accuracy >= production - 0.02`` (``threshold`` is then
    the offset added to production's figure, -0.02)."""

    metric: str
    op: str
    threshold: float
    relative: bool = False

    def __str__(self) -> str:
        if self.relative:
            offset = f"{self.threshold:+g}" if self.threshold else ""
            return f"{self.metric}{self.op}production{offset}"
        return f"{self.metric}{self.op}{self.threshold:g}"


_NUMBER = r"[\d.]+(?:e-?\d+)?"
_CRITERION = re.compile(
    rf"^\s*([A-Za-z_][\w.\-]*)\s*(>=|<=|==|>|<)\s*"
    rf"(?:(-?{_NUMBER})|production(?:\s*([+-])\s*({_NUMBER}))?)\s*$"
)


def parse_criterion(text: str) -> Criterion:
    """Read ``"accuracy>=0.9"`` or ``"accuracy >= production - 0.02"`` (``production``,
    ``production + 0.01``: spaces optional); anything else is bad input with an example."""
    match = _CRITERION.match(text)
    if not match:
        raise BadInputError(
            f"cannot read criterion {text!r}; write it like 'accuracy>=0.9' or "
            "'accuracy>=production-0.02'"
        )
    number = match.group(3) if match.group(3) is not None else match.group(5)
    try:
        threshold = float(number) if number is not None else 0.0
    except ValueError:
        raise BadInputError(f"criterion {text!r} has no number to compare with") from None
    if not math.isfinite(threshold):
        raise BadInputError(f"criterion {text!r} compares with {threshold}, not a finite number")
    relative = match.group(3) is None
    if match.group(4) == "-":
        threshold = -threshold
    return Criterion(match.group(1), match.group(2), threshold, relative)


def metric_thresholds_gate(
    metrics: Mapping[str, float], criteria: Iterable[Criterion]
) -> list[Verdict]:
    """One verdict per criterion; a metric never recorded is inconclusive, not passed. A
    relative criterion needs the production version's figure (``lifecycle.comparing_gates``):
    here it is inconclusive, never passed."""
    verdicts = []
    for c in criteria:
        gate = f"metric:{c.metric}"
        if c.relative:
            verdicts.append(
                Verdict(
                    f"vs_production:{c.metric}",
                    VerdictStatus.INCONCLUSIVE,
                    f"{c} compares with the production version: judged at promotion",
                )
            )
        elif c.metric not in metrics:
            verdicts.append(
                Verdict(gate, VerdictStatus.INCONCLUSIVE, f"{c.metric} was never recorded")
            )
        elif not math.isfinite(metrics[c.metric]):
            verdicts.append(not_finite(gate, c.metric, metrics[c.metric]))
        elif check_threshold(metrics[c.metric], c.op, c.threshold):
            verdicts.append(
                Verdict(gate, VerdictStatus.PASSED, f"{c.metric}={metrics[c.metric]:g} meets {c}")
            )
        else:
            verdicts.append(
                Verdict(gate, VerdictStatus.FAILED, f"{c.metric}={metrics[c.metric]:g} misses {c}")
            )
    return verdicts


def not_finite(gate: str, what: str, value: float) -> Verdict:
    """The failed verdict of a figure that is not a finite number (NaN, inf): never a pass."""
    return Verdict(gate, VerdictStatus.FAILED, f"{what} is {value}, not a finite number")


def min_requests_gate(metrics: PerformanceMetrics, min_requests: int) -> Verdict:
    """Too few requests to judge is inconclusive; enough is passed."""
    if metrics.request_count < min_requests:
        return Verdict(
            "min_requests",
            VerdictStatus.INCONCLUSIVE,
            f"only {metrics.request_count} of the {min_requests} requests needed to judge",
        )
    return Verdict("min_requests", VerdictStatus.PASSED, f"{metrics.request_count} requests seen")


def error_rate_gate(
    metrics: PerformanceMetrics, threshold: float, min_requests: int, confidence: float
) -> Verdict:
    """Fails when the error rate exceeds ``threshold``, once there are enough requests.

    Before ``min_requests`` it can still fail, but only when the rate is over the threshold
    for sure (:func:`lifecycle.certainty.certainly_over`): certainly (when the errors already
    seen exceed ``threshold`` of ``min_requests``, no run of successes up to the minimum could
    bring the rate back within bounds), or at ``confidence`` by a one-sided binomial test (1:
    certainty only). It never passes early.
    """
    enough = min_requests_gate(metrics, min_requests)
    if not enough.passed:
        errors, requests = metrics.error_count, metrics.request_count
        if errors > threshold * min_requests:
            return Verdict(
                "error_rate",
                VerdictStatus.FAILED,
                f"{errors} errors in {requests} requests: the error "
                f"rate cannot stay within {threshold:.2%} over the {min_requests} requests "
                "needed to judge",
            )
        if certainly_over(requests, errors, threshold, min_requests, confidence):
            return Verdict(
                "error_rate",
                VerdictStatus.FAILED,
                f"{errors} errors in {requests} requests: the error rate is over "
                f"{threshold:.2%} at {confidence * 100:g}% confidence (one-sided binomial "
                f"test), before the {min_requests} requests needed to judge",
            )
        return Verdict("error_rate", enough.status, enough.message)
    rate = metrics.error_rate
    if check_threshold(rate, ">", threshold):
        return Verdict(
            "error_rate", VerdictStatus.FAILED, f"error rate {rate:.2%} is above {threshold:.2%}"
        )
    return Verdict(
        "error_rate", VerdictStatus.PASSED, f"error rate {rate:.2%} is within {threshold:.2%}"
    )


def latency_gate(
    candidate: PerformanceMetrics, baseline: PerformanceMetrics, multiplier: float, quantile: str
) -> Verdict:
    """Fails when the candidate's p95 or p99 exceeds the baseline's times ``multiplier``."""
    gate = f"latency_{quantile}"
    new, old = getattr(candidate, f"{quantile}_ms"), getattr(baseline, f"{quantile}_ms")
    if new is None or old is None:
        side = "candidate" if new is None else "baseline"
        return Verdict(
            gate, VerdictStatus.INCONCLUSIVE, f"no {quantile} latency for the {side} yet"
        )
    for side, value in (("candidate", new), ("baseline", old)):
        if not math.isfinite(value):
            return not_finite(gate, f"the {side}'s {quantile}", value)
    limit = old * multiplier
    if check_threshold(new, ">", limit):
        return Verdict(
            gate,
            VerdictStatus.FAILED,
            f"{quantile} {new:.1f} ms is above {multiplier:g}x the baseline's {old:.1f} ms",
        )
    return Verdict(gate, VerdictStatus.PASSED, f"{quantile} {new:.1f} ms is within {limit:.1f} ms")


def health_gates(
    candidate: PerformanceMetrics, baseline: PerformanceMetrics, config: RollbackConfig
) -> list[Verdict]:
    """Every check a rollback config asks for: requests, error rate, p95 and p99.

    Below the minimum of requests only an error-rate failure that is sure (certain, or at the
    config's early-fail confidence) is reported; otherwise the verdict is inconclusive.
    """
    errors = error_rate_gate(
        candidate, config.error_rate_threshold, config.min_requests, config.early_fail_confidence
    )
    if not min_requests_gate(candidate, config.min_requests).passed:
        if errors.status is VerdictStatus.FAILED:
            return [errors]
        return [min_requests_gate(candidate, config.min_requests)]
    return [
        errors,
        latency_gate(candidate, baseline, config.latency_multiplier, "p95"),
        latency_gate(candidate, baseline, config.latency_multiplier, "p99"),
    ]


def shadow_age_gate(entered_shadow_at: datetime | None, now: datetime, min_hours: float) -> Verdict:
    """Passed once the version has been in shadow for ``min_hours``."""
    if entered_shadow_at is None:
        return Verdict("shadow_age", VerdictStatus.FAILED, "the version has never been in shadow")
    age = now - entered_shadow_at
    if age < timedelta(hours=min_hours):
        return Verdict(
            "shadow_age",
            VerdictStatus.INCONCLUSIVE,
            f"in shadow for {_duration(age.total_seconds())} of the "
            f"{_duration(min_hours * 3600)} required",
        )
    return Verdict(
        "shadow_age", VerdictStatus.PASSED, f"in shadow since {entered_shadow_at.isoformat()}"
    )


def _duration(seconds: float) -> str:
    """A duration as a person reads it: ``42 s``, ``12.5 min``, ``3.2 h``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def shadow_agreement_gate(stats: ShadowStats, min_agreement: float, min_compared: int) -> Verdict:
    """Passed when enough mirrored requests were compared and enough of them agreed."""
    agreement = stats.agreement
    if agreement is None or stats.compared < min_compared:
        return Verdict(
            "shadow_agreement",
            VerdictStatus.INCONCLUSIVE,
            f"only {stats.compared} of the {min_compared} shadow comparisons needed",
        )
    if check_threshold(agreement, "<", min_agreement):
        return Verdict(
            "shadow_agreement",
            VerdictStatus.FAILED,
            f"shadow agreement {agreement:.1%} is below {min_agreement:.1%} "
            f"over {stats.compared} requests",
        )
    return Verdict(
        "shadow_agreement",
        VerdictStatus.PASSED,
        f"shadow agreement {agreement:.1%} over {stats.compared} requests",
    )


def overall(verdicts: Iterable[Verdict]) -> VerdictStatus:
    """Failed if any failed; else inconclusive if any was (or there were none); else passed."""
    statuses = [v.status for v in verdicts]
    if VerdictStatus.FAILED in statuses:
        return VerdictStatus.FAILED
    if not statuses or VerdictStatus.INCONCLUSIVE in statuses:
        return VerdictStatus.INCONCLUSIVE
    return VerdictStatus.PASSED


def unmet(verdicts: Iterable[Verdict]) -> list[str]:
    """The messages of every verdict that did not pass, for an error that lists them all."""
    return [v.message for v in verdicts if not v.passed]


@dataclass(frozen=True, slots=True)
class PromotionPolicy:
    """What a promotion to production demands beyond the version's own success criteria."""

    shadow_min_hours: float = 24.0
    min_shadow_comparisons: int = 1000
    min_shadow_agreement: float = 0.95
    shadow_latency_ratio: float = 1.2
    """The shadow's p95 may be at most this times the primary's over the same mirrored requests."""
    shadow_latency_slack_ms: float = 20.0
    """...or at most this many milliseconds above it, whichever is larger: the mirrored call runs
    beside the next user request on the same host (an identical twin measured 1.26-1.36x, 4-7 ms,
    slower on 2 noisy cores: bench/shadow_latency_gate.py); above 100 ms the ratio decides."""

    def __post_init__(self) -> None:
        if self.shadow_min_hours < 0:
            raise BadInputError("shadow_min_hours cannot be negative")
        if self.min_shadow_comparisons < 1:
            raise BadInputError("min_shadow_comparisons must be at least 1")
        if not 0.0 <= self.min_shadow_agreement <= 1.0:
            raise BadInputError("min_shadow_agreement must be a fraction between 0 and 1")
        if not self.shadow_latency_ratio >= 1.0:
            raise BadInputError("shadow_latency_ratio must be at least 1.0")
        if not self.shadow_latency_slack_ms >= 0:
            raise BadInputError("shadow_latency_slack_ms cannot be negative")


def production_gates(
    *,
    metrics: Mapping[str, float],
    criteria: Iterable[Criterion],
    entered_shadow_at: datetime | None,
    now: datetime,
    shadow: ShadowStats | None,
    has_production: bool,
    policy: PromotionPolicy,
) -> list[Verdict]:
    """Every check a move to production must pass: criteria, time in shadow, shadow agreement.

    Relative criteria count as stated criteria but are judged by
    ``lifecycle.comparing_gates.comparing_gates`` (they need the production version's figures).
    ``shadow`` is what the gateway measured for the version's shadow deployments (None: it was
    never mirrored). A version with no success criteria fails: production needs a stated bar.
    The first production version of a model has nothing to be compared with, so its agreement
    gate passes and says so; every later one must have been mirrored and compared.
    """
    wanted = list(criteria)
    verdicts = metric_thresholds_gate(metrics, [c for c in wanted if not c.relative])
    if not wanted:
        verdicts.append(
            Verdict(
                "criteria",
                VerdictStatus.FAILED,
                "no success criteria are set; add them with 'deployer criteria NAME VERSION'",
            )
        )
    verdicts.append(shadow_age_gate(entered_shadow_at, now, policy.shadow_min_hours))
    if shadow is not None:
        verdicts.append(
            shadow_agreement_gate(
                shadow, policy.min_shadow_agreement, policy.min_shadow_comparisons
            )
        )
    elif has_production:
        verdicts.append(
            Verdict(
                "shadow_agreement",
                VerdictStatus.INCONCLUSIVE,
                "the version was never mirrored: deploy it with the shadow strategy first",
            )
        )
    else:
        verdicts.append(
            Verdict(
                "shadow_agreement",
                VerdictStatus.PASSED,
                "first production version of this model: no production outputs to compare with",
            )
        )
    return verdicts
