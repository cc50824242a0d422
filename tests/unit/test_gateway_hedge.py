"""The hedged call over asyncio (``mlops.gateway.calls.hedged``), with calls the test ends when
it wants: the first answer wins, a hung first call is hedged on stable after the delay and runs
on in ``late``, a failure is retried at once, and a stable call no one needs is cancelled."""

from __future__ import annotations

import asyncio

from mlops.gateway.calls import Answer, Hedged, hedged

OK: Answer = (200, b"first", 5.0, None)
STABLE_OK: Answer = (200, b"stable", 3.0, None)
FAILED: Answer = (500, b"", 4.0, "answered 500")
STABLE_FAILED: Answer = (502, b"", 1.0, "unreachable")


class Scripted:
    """A call that ends with ``answer`` when the test sets ``go``; records that it was asked
    and whether it was cancelled."""

    def __init__(self, answer: Answer, go_now: bool = False) -> None:
        self.answer = answer
        self.go = asyncio.Event()
        if go_now:
            self.go.set()
        self.asked = self.cancelled = False

    async def __call__(self) -> Answer:
        self.asked = True
        try:
            await self.go.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self.answer


def _run(first: Scripted, stable: Scripted, delay: float, script: list[Scripted]) -> Hedged:
    """Run the hedged call; end the calls in ``script`` one by one as it waits."""
    late: set[asyncio.Task[Answer]] = set()

    async def story() -> Hedged:
        call = asyncio.ensure_future(hedged(first(), stable, delay, late))
        for step in script:
            await asyncio.sleep(0.05)
            step.go.set()
        ended = await call
        if late:  # the first call runs on after its user got an answer: let it end
            first.go.set()
            await asyncio.gather(*late)
        assert not late
        return ended

    return asyncio.run(story())


def test_a_first_answer_within_the_delay_wins_and_stable_is_never_asked() -> None:
    first, stable = Scripted(OK, go_now=True), Scripted(STABLE_OK)
    assert _run(first, stable, 30.0, []) == Hedged(OK, False, False, False)
    assert not stable.asked


def test_a_first_call_past_the_delay_is_hedged_and_the_stable_answer_wins() -> None:
    first, stable = Scripted(OK), Scripted(STABLE_OK, go_now=True)
    assert _run(first, stable, 0.01, []) == Hedged(STABLE_OK, True, False, True)
    assert stable.asked and not first.cancelled  # it ran on, late, to its own end


def test_a_failure_is_retried_on_stable_at_once() -> None:
    first, stable = Scripted(FAILED, go_now=True), Scripted(STABLE_OK, go_now=True)
    assert _run(first, stable, 30.0, []) == Hedged(STABLE_OK, True, True, False)


def test_a_first_answer_after_the_hedge_wins_and_the_stable_call_is_cancelled() -> None:
    first, stable = Scripted(OK), Scripted(STABLE_OK)
    assert _run(first, stable, 0.01, [first]) == Hedged(OK, False, False, True)
    assert stable.asked and stable.cancelled


def test_a_failed_stable_call_waits_for_the_first_answer() -> None:
    first, stable = Scripted(OK), Scripted(STABLE_FAILED)
    assert _run(first, stable, 0.01, [stable, first]) == Hedged(OK, False, False, True)


def test_when_both_fail_the_user_gets_the_stable_failure() -> None:
    first, stable = Scripted(FAILED), Scripted(STABLE_FAILED)
    assert _run(first, stable, 0.01, [first, stable]) == Hedged(STABLE_FAILED, True, False, True)
