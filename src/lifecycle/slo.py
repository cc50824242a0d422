"""Service levels of a serving deployment: pure judgements over its recent figures.

A model's objectives (:class:`Objectives`) bound its error rate and its p95/p99 latency, each in
absolute terms and (``latency_factor``) relative to the deployment's own trailing baseline:
p95 may not exceed k times the p95 it had before the window. :func:`judge` reads one window of
requests (and the baseline before it) and says ``passed``, ``failed`` (with each breached
objective) or ``inconclusive``: too few requests is never "ok". :func:`guard_action` says what a
breach leads to: inside the guard window after a release, with the replaced deployment still
warm, an automatic rollback (``act``); otherwise a proposal a person confirms (``propose``),
or only an alert when nothing is left to roll back to.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from lifecycle.errors import BadInputError
from lifecycle.gates import Verdict, VerdictStatus
from lifecycle.metrics import PerformanceMetrics


class InvalidObjectiveError(BadInputError):
    """A service-level objective that is not a usable bound; nothing was written."""


@dataclass(frozen=True, slots=True)
class Objectives:
    """A model's service-level objectives; ``None`` leaves a bound off."""

    error_rate: float | None = 0.05
    """Errors per request at most (0..1)."""
    p95_ms: float | None = None
    p99_ms: float | None = None
    latency_factor: float | None = 3.0
    """p95 and p99 at most this many times the deployment's own baseline (>= 1)."""
    min_requests: int = 20
    """Fewer requests in the window (or the baseline) is inconclusive, never ok."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, every field named."""
        return asdict(self)


OBJECTIVE_FIELDS = ("error_rate", "p95_ms", "p99_ms", "latency_factor", "min_requests")


def objectives(base: Objectives, changes: Mapping[str, float | int | None]) -> Objectives:
    """``base`` with ``changes`` over it, each checked: a rate in 0..1, latencies above 0, a
    factor of at least 1, a minimum request count of at least 1; raise
    :class:`InvalidObjectiveError` naming the first bad one (nothing is changed)."""
    unknown = sorted(set(changes) - set(OBJECTIVE_FIELDS))
    if unknown:
        raise InvalidObjectiveError(f"unknown objective {unknown[0]!r}")
    for name, value in changes.items():
        _check(name, value)
    merged = replace(base, **{k: v for k, v in changes.items()})  # type: ignore[arg-type]
    return replace(merged, min_requests=int(merged.min_requests))


def _check(name: str, value: float | int | None) -> None:
    if value is None:
        if name == "min_requests":
            raise InvalidObjectiveError("the minimum request count cannot be left off")
        return
    if isinstance(value, bool) or not math.isfinite(float(value)):
        raise InvalidObjectiveError(f"objective {name} must be a finite number, not {value!r}")
    number = float(value)
    if name == "error_rate" and not 0.0 <= number <= 1.0:
        raise InvalidObjectiveError(f"error rate {number:g} must be between 0 and 1")
    if name in ("p95_ms", "p99_ms") and number <= 0:
        raise InvalidObjectiveError(f"{name} {number:g} must be above 0 ms")
    if name == "latency_factor" and number < 1.0:
        raise InvalidObjectiveError(f"latency factor {number:g} must be at least 1")
    if name == "min_requests" and (number < 1 or number != int(number)):
        raise InvalidObjectiveError(f"minimum requests {number:g} must be a whole number >= 1")


@dataclass(frozen=True, slots=True)
class Breach:
    """One objective the window missed."""

    objective: str
    observed: float
    limit: float


@dataclass(frozen=True, slots=True)
class SloVerdict:
    """A window's judgement: its status, each objective's verdict, and the breaches."""

    status: VerdictStatus
    verdicts: tuple[Verdict, ...]
    breaches: tuple[Breach, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """Each objective's sentence, the failed ones first."""
        failed = [v.message for v in self.verdicts if v.status is VerdictStatus.FAILED]
        return (
            *failed,
            *(v.message for v in self.verdicts if v.status is not VerdictStatus.FAILED),
        )

    @property
    def summary(self) -> str:
        """One line: what was breached, or why nothing could be said, or ok."""
        return "; ".join(self.reasons) or "no objective set"


def judge(
    goals: Objectives, window: PerformanceMetrics, baseline: PerformanceMetrics | None
) -> SloVerdict:
    """The window's verdict against ``goals``: failed when any objective is missed, else
    inconclusive when the window has fewer than ``min_requests`` (or an objective could not be
    read), else passed. Relative objectives need a baseline with enough requests too."""
    if window.request_count < goals.min_requests:
        low = Verdict(
            "slo_requests",
            VerdictStatus.INCONCLUSIVE,
            f"only {window.request_count} requests (SLO needs {goals.min_requests})",
        )
        return SloVerdict(VerdictStatus.INCONCLUSIVE, (low,))
    found = [_bound("error_rate", window.error_rate, goals.error_rate)]
    found += [_bound("p95_ms", window.p95_ms, goals.p95_ms)]
    found += [_bound("p99_ms", window.p99_ms, goals.p99_ms)]
    if goals.latency_factor is not None:
        for name in ("p95_ms", "p99_ms"):
            found.append(
                _relative(name, window, baseline, goals.latency_factor, goals.min_requests)
            )
    pairs = [f for f in found if f is not None]
    verdicts = tuple(v for v, _ in pairs)
    breaches = tuple(b for _, b in pairs if b is not None)
    if breaches:
        return SloVerdict(VerdictStatus.FAILED, verdicts, breaches)
    if any(v.status is VerdictStatus.INCONCLUSIVE for v in verdicts):
        return SloVerdict(VerdictStatus.INCONCLUSIVE, verdicts)
    return SloVerdict(VerdictStatus.PASSED, verdicts)


_Found = tuple[Verdict, Breach | None] | None


def _bound(name: str, observed: float | None, limit: float | None) -> _Found:
    if limit is None:
        return None
    label = _label(name)
    if observed is None:
        return Verdict(f"slo_{name}", VerdictStatus.INCONCLUSIVE, f"{label} unknown"), None
    shown, bound = _show(name, observed), _show(name, limit)
    if observed > limit:
        verdict = Verdict(f"slo_{name}", VerdictStatus.FAILED, f"{label} {shown} above {bound}")
        return verdict, Breach(name, observed, limit)
    return Verdict(f"slo_{name}", VerdictStatus.PASSED, f"{label} {shown} within {bound}"), None


def _relative(
    name: str,
    window: PerformanceMetrics,
    baseline: PerformanceMetrics | None,
    factor: float,
    min_requests: int,
) -> _Found:
    gate, label = f"slo_{name}_relative", _label(name)
    before = getattr(baseline, name) if baseline is not None else None
    if baseline is None or baseline.request_count < min_requests or before is None:
        why = f"{label} not compared: no baseline of {min_requests} requests yet"
        return Verdict(gate, VerdictStatus.INCONCLUSIVE, why), None
    limit = factor * float(before)
    observed = getattr(window, name)
    if observed is None:
        return Verdict(gate, VerdictStatus.INCONCLUSIVE, f"{label} unknown"), None
    text = f"{label} {observed:g} ms vs {factor:g}x its baseline {before:g} ms"
    if observed > limit:
        return Verdict(gate, VerdictStatus.FAILED, text), Breach(
            f"{name}_relative", observed, limit
        )
    return Verdict(gate, VerdictStatus.PASSED, text), None


def _label(name: str) -> str:
    return {"error_rate": "error rate", "p95_ms": "p95", "p99_ms": "p99"}[name]


def _show(name: str, value: float) -> str:
    return f"{value:.2%}" if name == "error_rate" else f"{value:g} ms"


class GuardAction(StrEnum):
    """What a breach leads to."""

    ACT = "act"  # roll back to the warm previous deployment now
    PROPOSE = "propose"  # say the one command that rolls back; a person confirms
    ALERT = "alert"  # nothing to roll back to: tell people
    NONE = "none"  # no breach


def guard_action(
    verdict: SloVerdict,
    completed_at: datetime | None,
    now: datetime,
    guard_window: float,
    warm_previous: bool,
    *,
    can_roll_back: bool = True,
) -> GuardAction:
    """What to do about ``verdict``: nothing unless it failed; an automatic rollback while
    ``now`` is within ``guard_window`` seconds of the release's completion (``completed_at``)
    and the replaced deployment is still warm; otherwise a proposal, or an alert alone when
    there is no earlier deployment to roll back to."""
    if verdict.status is not VerdictStatus.FAILED:
        return GuardAction.NONE
    if not can_roll_back and not warm_previous:
        return GuardAction.ALERT
    inside = completed_at is not None and (now - completed_at).total_seconds() < guard_window
    if inside and warm_previous:
        return GuardAction.ACT
    return GuardAction.PROPOSE


def is_new_breach(verdict: SloVerdict, previous: str | None) -> bool:
    """Whether a failed ``verdict`` starts a breach: the deployment's previous SLO status
    (None when never judged) was not already failed. An ongoing breach is said once."""
    return verdict.status is VerdictStatus.FAILED and previous != VerdictStatus.FAILED.value
