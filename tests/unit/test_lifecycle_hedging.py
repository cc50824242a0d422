"""The hedged call's decisions, pinned as tables: when to hedge, and what comes next from where
the picked (non-stable) call and the stable one stand."""

from __future__ import annotations

import pytest

from lifecycle.hedging import Call, Next, choose, hedge_delay

U, P, A, F = Call.UNASKED, Call.PENDING, Call.ANSWERED, Call.FAILED


@pytest.mark.parametrize(
    ("picked_stable", "stable_served", "retry_on_stable", "delay"),
    [
        (False, True, True, 1.5),
        (True, True, True, None),
        (False, False, True, None),
        (False, True, False, None),
        (True, False, False, None),
    ],
    ids=[
        "a-canary-with-a-served-stable-is-hedged-after-the-delay",
        "the-stable-deployment-itself-is-never-hedged",
        "no-hedge-to-a-stable-deployment-without-a-server",
        "no-hedge-when-failures-are-not-retried-on-stable",
        "none-of-it",
    ],
)
def test_hedge_delay_says_whether_and_when_to_hedge(
    picked_stable: bool, stable_served: bool, retry_on_stable: bool, delay: float | None
) -> None:
    assert hedge_delay(picked_stable, stable_served, retry_on_stable, 1.5) == delay


@pytest.mark.parametrize(
    ("first", "stable", "due", "next_"),
    [
        (P, U, False, Next.WAIT),
        (P, U, True, Next.ASK_STABLE),
        (A, U, False, Next.ANSWER_FIRST),
        (A, U, True, Next.ANSWER_FIRST),
        (F, U, False, Next.ASK_STABLE),
        (F, U, True, Next.ASK_STABLE),
        (P, P, True, Next.WAIT),
        (P, A, True, Next.ANSWER_STABLE),
        (P, F, True, Next.WAIT),
        (A, P, True, Next.ANSWER_FIRST),
        (A, A, True, Next.ANSWER_FIRST),
        (A, F, True, Next.ANSWER_FIRST),
        (F, P, True, Next.WAIT),
        (F, A, True, Next.ANSWER_STABLE),
        (F, F, True, Next.ANSWER_STABLE),
        (F, F, False, Next.ANSWER_STABLE),
        (P, A, False, Next.ANSWER_STABLE),
    ],
    ids=[
        "a-pending-canary-within-the-delay-is-waited-for",
        "a-pending-canary-past-the-delay-asks-stable-too",
        "a-canary-answer-in-time-is-the-answer",
        "a-canary-answer-is-the-answer-even-at-the-delay",
        "a-canary-failure-is-retried-on-stable-at-once",
        "a-canary-failure-past-the-delay-is-retried-too",
        "both-pending-wait",
        "the-stable-answer-beats-a-hung-canary",
        "a-failed-stable-call-waits-for-the-canary",
        "a-canary-answering-first-wins-and-stable-is-dropped",
        "a-canary-answer-wins-a-tie",
        "a-canary-answer-wins-over-a-stable-failure",
        "a-failed-canary-waits-for-the-stable-retry",
        "a-failed-canary-gets-the-stable-answer",
        "both-failed-the-user-gets-the-stable-failure",
        "both-failed-whatever-the-clock",
        "a-stable-answer-wins-whatever-the-clock",
    ],
)
def test_choose_says_what_comes_next(first: Call, stable: Call, due: bool, next_: Next) -> None:
    assert choose(first, stable, due) is next_
