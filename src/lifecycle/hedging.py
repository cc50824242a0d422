"""A hedged call: a non-stable deployment that has not answered within the hedge delay gets its
request sent to the stable deployment too, and the user gets whichever answers first (issue 16).

A hung canary then costs its users the hedge delay (by default the connect timeout), not its
read deadline. Predictions are idempotent reads, so asking twice is safe; the hedge follows the
retry rules (only when failures are retried on stable, only to a stable deployment that has a
server, never from the stable deployment itself).

The canary's own call is never cut short by the hedge: it runs on to its read deadline and is
counted as what it is, a slow request (its latency, not an error) when it answers in time, a
failure when it does not. So the monitor's latency and error figures see a slow canary as slow
and a hung one as failing, whoever answered the user.

:func:`hedge_delay` says whether and when to hedge; :func:`choose` says, from where the two
calls stand, what the gateway does next.
"""

from __future__ import annotations

from enum import StrEnum


class Call(StrEnum):
    """Where one upstream call stands (``ANSWERED``: below 500 in time; ``FAILED``: 5xx, no
    connection or a deadline passed; ``UNASKED``: the stable call not made yet)."""

    UNASKED = "unasked"
    PENDING = "pending"
    ANSWERED = "answered"
    FAILED = "failed"


class Next(StrEnum):
    """What the gateway does next for a user's request."""

    WAIT = "wait"
    """Wait for the next call to end (or the hedge delay to pass)."""
    ASK_STABLE = "ask_stable"
    """Send the request to the stable deployment too (a hedge, or the retry of a failure)."""
    ANSWER_FIRST = "answer_first"
    """Answer the user with the first (picked) deployment's answer; drop the stable call."""
    ANSWER_STABLE = "answer_stable"
    """Answer the user with the stable deployment's answer (or its failure, when both failed)."""


def hedge_delay(
    picked_stable: bool, stable_served: bool, retry_on_stable: bool, hedge_after: float
) -> float | None:
    """Seconds to wait for the picked deployment's answer before asking the stable one too, or
    None: no hedge (the picked one is stable, the stable one has no server, or failures are
    not retried on stable)."""
    if picked_stable or not stable_served or not retry_on_stable:
        return None
    return hedge_after


def choose(first: Call, stable: Call, hedge_due: bool) -> Next:
    """The next step, from where the picked (``first``, non-stable) call and the stable one
    stand, and whether the hedge delay has passed.

    The first call's answer wins whenever it has one; its failure asks stable at once (the
    retry); the stable answer wins over a first call still pending (the hedge), but a failed
    stable call waits for the first one, which may still answer; when both failed, the user
    gets the stable failure (as a retry's answer today)."""
    if first is Call.ANSWERED:
        return Next.ANSWER_FIRST
    if stable is Call.UNASKED:
        if first is Call.FAILED or hedge_due:
            return Next.ASK_STABLE
        return Next.WAIT
    if stable is Call.ANSWERED:
        return Next.ANSWER_STABLE
    if stable is Call.FAILED and first is Call.FAILED:
        return Next.ANSWER_STABLE
    return Next.WAIT
