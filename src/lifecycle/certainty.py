"""When an error rate is over its threshold before the minimum of requests: certainly, or at a
stated confidence (issue 16). One rule, used by the monitor's early rollback
(:func:`lifecycle.gates.error_rate_gate`) and the gateway's outlier ejection
(:func:`lifecycle.breaker.ejection`), so the gateway never ejects on figures the monitor would
not fail.

Two ways to be sure before ``min_requests`` requests:

- **certain**: more errors than ``threshold`` of ``min_requests`` (no run of successes up to the
  minimum could bring the rate back within bounds);
- **at ``confidence``**: a one-sided exact binomial test. Were the deployment's true error rate
  the threshold itself, seeing ``errors`` or more in ``requests`` would have probability at
  most ``1 - confidence``. A confidence of 1 turns this off (certainty only); a policy takes
  one from 0.9 up (below, the test could fail a rate within the threshold).

The test is looked at after every request, so its false-positive probability over a whole
judgement is more than ``1 - confidence``; :func:`failure_probability` computes it exactly (a
walk over every path of up to ``min_requests`` requests). With the benchmark's policy (5% over
100 requests) and the default confidence 0.99, a canary erring at exactly the threshold fails
its step's judgement in 38.7% of cases instead of 38.4% with certainty only (the full-sample
rule alone already fails it that often: half its samples land over the threshold), and one
erring at half the threshold in 4.21% instead of 3.99% (the table in
``tests/unit/test_lifecycle_certainty.py``). In exchange a canary failing one request in five
is failed at its 25th request (5 errors), not its 30th (6 errors).
"""

from __future__ import annotations

import math

DEFAULT_CONFIDENCE = 0.99
"""The confidence a rollout's early failure needs unless its policy says otherwise."""


def binomial_tail(requests: int, errors: int, rate: float) -> float:
    """P(X >= ``errors``) for X ~ Binomial(``requests``, ``rate``): how likely that many errors
    or more are from a deployment whose true error rate is ``rate``."""
    if errors <= 0:
        return 1.0
    if errors > requests or rate <= 0.0:
        return 0.0
    if rate >= 1.0:
        return 1.0
    log_p, log_q = math.log(rate), math.log1p(-rate)
    below = 0.0  # P(X < errors), summed term by term (errors is small where this is asked)
    for k in range(errors):
        below += math.exp(
            math.lgamma(requests + 1)
            - math.lgamma(k + 1)
            - math.lgamma(requests - k + 1)
            + k * log_p
            + (requests - k) * log_q
        )
    return max(0.0, 1.0 - below)


def certainly_over(
    requests: int, errors: int, threshold: float, min_requests: int, confidence: float
) -> bool:
    """Whether ``errors`` in ``requests`` put the error rate over ``threshold`` before (or at)
    ``min_requests``: certainly, or at ``confidence`` by the one-sided binomial test."""
    if errors > threshold * min_requests:
        return True
    if confidence >= 1.0:
        return False
    return binomial_tail(requests, errors, threshold) <= 1.0 - confidence


def failure_probability(
    rate: float, threshold: float, min_requests: int, confidence: float
) -> float:
    """The probability that a deployment whose true error rate is ``rate`` fails one step's
    judgement on errors: the early rule (:func:`certainly_over`, looked at after each request)
    before ``min_requests``, or the full-sample rule at ``min_requests`` (more than
    ``threshold`` of them failed), computed exactly over every path of requests."""
    alive = {0: 1.0}  # errors so far -> probability of the paths not failed yet
    failed = 0.0
    for requests in range(1, min_requests + 1):
        after: dict[int, float] = {}
        for errors, chance in alive.items():
            for more, step in ((0, 1.0 - rate), (1, rate)):
                seen = errors + more
                if certainly_over(requests, seen, threshold, min_requests, confidence):
                    failed += chance * step
                else:
                    after[seen] = after.get(seen, 0.0) + chance * step
        alive = after
    return failed
