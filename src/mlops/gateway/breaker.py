"""One gateway's breakers and outlier ejections, per upstream deployment (its pools and
deadlines are :mod:`mlops.gateway.deadlines`).

The decisions are pure (:mod:`lifecycle.breaker`); this module keeps their state on the event
loop (no locks: one loop, no awaits inside), counts what happened, logs each opening and
ejection once, and reports it all in ``/admin/stats`` (``breakers``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lifecycle.breaker import (
    DEFAULT_EJECTION_SECONDS,
    Breaker,
    BreakerPolicy,
    BreakerState,
    EjectionLimit,
    admit,
    ejection,
    ejection_over,
    record,
)

log = logging.getLogger("deployer.gateway")


@dataclass(slots=True)
class _Upstream:
    model_name: str
    breaker: Breaker
    requests: int = 0
    errors: int = 0
    skipped: int = 0
    ejected: str | None = None
    ejected_at: float = 0.0


class Breakers:
    """Breakers and ejections of every deployment this gateway routes to."""

    def __init__(
        self,
        policy: BreakerPolicy,
        clock: Callable[[], float] = time.monotonic,
        ejection_seconds: float = DEFAULT_EJECTION_SECONDS,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.ejection_seconds = ejection_seconds
        """How long an ejection lasts unless the table changes first (``lifecycle.breaker``)."""
        self.limits: dict[str, EjectionLimit] = {}
        self._upstreams: dict[str, _Upstream] = {}

    def _of(self, deployment_id: str, model_name: str) -> _Upstream:
        upstream = self._upstreams.get(deployment_id)
        if upstream is None:
            upstream = _Upstream(model_name, Breaker())
            self._upstreams[deployment_id] = upstream
        return upstream

    def routed(
        self,
        deployments: Iterable[tuple[str, str]],
        limits: Mapping[str, EjectionLimit],
        changed: Iterable[str] = (),
    ) -> None:
        """After a reload: keep the state of the ``(deployment, model)`` pairs still routed,
        forget the others (a retired canary's breaker means nothing), take the rollouts'
        ejection limits. The deployments of a ``changed`` table (a canary's next step) start
        counting again, as the monitor judges each step on its own requests."""
        keep = dict(deployments)
        for gone in set(self._upstreams) - set(keep):
            del self._upstreams[gone]
        for deployment_id, model_name in keep.items():
            self._of(deployment_id, model_name)
        for deployment_id in set(changed) & set(keep):
            upstream = self._upstreams[deployment_id]
            upstream.requests = upstream.errors = 0
            upstream.ejected = None  # a new step is judged afresh
        self.limits = dict(limits)

    def allow(self, deployment_id: str, model_name: str) -> bool:
        """Whether a user request may go to this (non-stable) deployment now; counts a refusal
        (the request goes to stable instead)."""
        upstream = self._of(deployment_id, model_name)
        if upstream.ejected is not None:
            if not ejection_over(upstream.ejected_at, self.clock(), self.ejection_seconds):
                upstream.skipped += 1
                return False
            upstream.ejected = None  # readmitted on the same figures: a failure ejects again
        allowed, upstream.breaker = admit(upstream.breaker, self.clock(), self.policy)
        if not allowed:
            upstream.skipped += 1
        return allowed

    def record(self, deployment_id: str, model_name: str, ok: bool) -> bool:
        """One call's outcome: moves the breaker and may eject the deployment; True when it was
        ejected or its breaker opened just now (the gateway then reports at once)."""
        upstream = self._of(deployment_id, model_name)
        upstream.requests += 1
        upstream.errors += 0 if ok else 1
        before = upstream.breaker.state
        upstream.breaker = record(upstream.breaker, ok, self.clock(), self.policy)
        crossed = False
        if upstream.breaker.state is BreakerState.OPEN and before is not BreakerState.OPEN:
            crossed = True
            log.warning(
                "breaker open: deployment %s of %s after %d failures in a row",
                deployment_id,
                model_name,
                upstream.breaker.failures,
            )
        if not ok and upstream.ejected is None:
            limit = self.limits.get(deployment_id)
            reason = ejection(upstream.requests, upstream.errors, limit)
            if reason is not None:
                crossed = True
                upstream.ejected, upstream.ejected_at = reason, self.clock()
                log.warning("deployment %s of %s %s", deployment_id, model_name, reason)
        return crossed

    def ejected(self, deployment_id: str) -> str | None:
        """Why the deployment was ejected, or None."""
        upstream = self._upstreams.get(deployment_id)
        return None if upstream is None else upstream.ejected

    def figures(self) -> list[dict[str, Any]]:
        """Every upstream's breaker state and counters (``/admin/stats``' ``breakers``)."""
        return [
            {
                "deployment_id": deployment_id,
                "model_name": u.model_name,
                "state": u.breaker.state.value,
                "failures_in_a_row": u.breaker.failures,
                "opened": u.breaker.opened,
                "requests": u.requests,
                "errors": u.errors,
                "skipped": u.skipped,
                "ejected": u.ejected is not None,
                "ejected_reason": u.ejected,
            }
            for deployment_id, u in sorted(self._upstreams.items())
        ]
