"""The gateway's protection of users from one bad upstream: a circuit breaker per deployment
and outlier ejection, as pure decisions over what the gateway saw.

Breaker (per upstream; the gateway never skips the stable deployment, it has nowhere else to
send a request):

- ``closed``: every request goes through; ``failures_to_open`` failures or timeouts in a row
  open it (a success resets the run).
- ``open``: requests skip the upstream (the gateway sends them to stable) until
  ``cooldown_seconds`` have passed since it opened; then it is ``half_open``.
- ``half_open``: one request at a time goes through as a probe; its success closes the breaker,
  its failure opens it again for another cool-down.

Outlier ejection (like Envoy's): a non-stable deployment whose recent error rate is over its
rollout's rollback threshold for sure (certainly, or at the rollout's early-fail confidence:
:mod:`lifecycle.certainty`), by the very test the monitor uses
(:func:`lifecycle.gates.error_rate_gate`: failed, not merely inconclusive), gets no more users
from this gateway. The gateway does not decide the rollback; the monitor still does, from the
same figures, and records it.

An ejection lasts until the deployment's table changes (the monitor's decision: a rollback
drops it, an advance starts a new step) or ``ejection_seconds`` have passed
(:func:`ejection_over`). Then the deployment is readmitted on the figures it was ejected on
(not fresh counts): its next failure puts it out again at once while they still fail the
gate, and only successes bring it back within bounds. The time bound is for when the monitor
sees other figures than this gateway (other gateways' requests, a step that began for the
monitor a little before this gateway reloaded its table): it must be able to reach its minimum
of requests, so the ejection cannot be for good. It must outlast a monitor kept away from the
model, for which the model lock's expiry (60 s by default) is the bound: a deploy that holds
the lock while its canary already takes users (stopping the shadow it replaces) kept the
watcher's ticks off the model for over 20 s under load, and an ejection of 20 s then gave the
failing canary users again (issue 16's 24.4 s "fault to 100% stable").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from lifecycle.errors import BadInputError
from lifecycle.gates import VerdictStatus, error_rate_gate
from lifecycle.metrics import PerformanceMetrics


class BreakerState(StrEnum):
    """Where a breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a breaker opens and how long it stays open before probing."""

    failures_to_open: int = 5
    cooldown_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.failures_to_open < 1:
            raise BadInputError("a breaker needs at least 1 failure to open")
        if not self.cooldown_seconds > 0:
            raise BadInputError("a breaker's cool-down must be a positive number of seconds")


@dataclass(frozen=True, slots=True)
class Breaker:
    """One upstream's breaker: its state, the failures in a row, when it opened, whether a
    half-open probe is in flight, and how often it opened."""

    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False
    opened: int = 0


def admit(breaker: Breaker, now: float, policy: BreakerPolicy) -> tuple[bool, Breaker]:
    """Whether a request may go to the upstream at ``now`` (monotonic seconds), and the breaker
    after the asking: an open breaker past its cool-down turns half-open and lets this request
    through as its one probe; a half-open one with a probe in flight refuses."""
    if breaker.state is BreakerState.CLOSED:
        return True, breaker
    if breaker.state is BreakerState.OPEN:
        opened = breaker.opened_at if breaker.opened_at is not None else now
        if now - opened < policy.cooldown_seconds:
            return False, breaker
        return True, replace(breaker, state=BreakerState.HALF_OPEN, probing=True)
    if breaker.probing:
        return False, breaker
    return True, replace(breaker, probing=True)


def record(breaker: Breaker, ok: bool, now: float, policy: BreakerPolicy) -> Breaker:
    """The breaker after one call's outcome (``ok``: answered below 500 in time)."""
    if ok:
        if breaker.state is BreakerState.CLOSED and breaker.failures == 0:
            return breaker
        return replace(breaker, state=BreakerState.CLOSED, failures=0, probing=False)
    failures = breaker.failures + 1
    if breaker.state is BreakerState.HALF_OPEN or (
        breaker.state is BreakerState.CLOSED and failures >= policy.failures_to_open
    ):
        return Breaker(BreakerState.OPEN, failures, now, False, breaker.opened + 1)
    return replace(breaker, failures=failures)


DEFAULT_EJECTION_SECONDS = 60.0
"""How long an ejection lasts unless the table changes first (the model lock's default expiry:
a monitor kept away from the model longer than that is not waiting on a lock)."""


def ejection_over(ejected_at: float, now: float, ejection_seconds: float) -> bool:
    """Whether an ejection made at ``ejected_at`` (monotonic seconds) is over at ``now``."""
    return now - ejected_at >= ejection_seconds


@dataclass(frozen=True, slots=True)
class EjectionLimit:
    """A rollout's rollback threshold as the gateway applies it (from its rollback config)."""

    error_rate_threshold: float
    min_requests: int
    confidence: float = 1.0
    """The rollout's ``early_fail_confidence`` (1: eject only on certainty)."""


def ejection(requests: int, errors: int, limit: EjectionLimit | None) -> str | None:
    """Why a non-stable deployment that answered ``requests`` with ``errors`` failures must get
    no more users, or None: only when the monitor's own error-rate gate already *fails* on
    these figures (certainly over the threshold), never on an inconclusive sample."""
    if limit is None:  # no requests: the gate passes (an error rate of none is 0%)
        return None
    metrics = PerformanceMetrics(request_count=requests, error_count=errors)
    verdict = error_rate_gate(
        metrics, limit.error_rate_threshold, limit.min_requests, limit.confidence
    )
    if verdict.status is not VerdictStatus.FAILED:
        return None
    return f"ejected: {verdict.message}"
