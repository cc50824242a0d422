"""What the procedure advises for a model's next rollout (pure, no I/O).

The rule: when the model's last production rollout was rolled back, use the conservative
rollback config and a slower canary, and say which episode that was learned from. Otherwise
keep the balanced config, and reuse the canary schedule that last succeeded, if there is one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from lifecycle.rollback import RollbackPreset
from lifecycle.strategies import DEFAULT_CANARY_STEPS
from memory.episodes import ROLLED_BACK

FIRST_CAUTIOUS_STEPS: tuple[int, ...] = (1, 5)
"""The small shares a slower canary always starts with."""

LARGEST_CAUTIOUS_JUMP = 15
"""Once a canary already starts small, gaps wider than this many points are halved."""


@dataclass(frozen=True, slots=True)
class Advice:
    """How to run the next rollout of one model, and why.

    ``canary_steps`` is None when memory has no schedule to suggest (use the strategy's own);
    ``reason`` is None when the advice is the default, and otherwise names its episode.
    """

    rollback_preset: str = RollbackPreset.BALANCED.value
    canary_steps: tuple[int, ...] | None = None
    reason: str | None = None


def advise(procedure: Mapping[str, Any]) -> Advice:
    """The advice for the model whose procedure document (see :mod:`memory.procedure`) is given."""
    model = procedure.get("model_name", "this model")
    last = procedure.get("last_production_rollout") or {}
    if last.get("outcome") == ROLLED_BACK:
        steps = slower_canary(_base_schedule(last, procedure))
        why = "; ".join(last.get("reasons") or []) or "no reason was recorded"
        return Advice(
            rollback_preset=RollbackPreset.CONSERVATIVE.value,
            canary_steps=steps,
            reason=(
                f"last production rollout of {model} (episode {last.get('episode_id')}) was "
                f"rolled back: {why}; using the conservative rollback config and a slower canary"
            ),
        )
    canary = procedure.get("last_successful_canary")
    if canary and canary.get("canary_steps"):
        return Advice(
            canary_steps=_percents(canary["canary_steps"]),
            reason=(
                f"reusing the canary schedule that last succeeded for {model} "
                f"(episode {canary.get('episode_id')})"
            ),
        )
    return Advice()


def slower_canary(steps: Sequence[float]) -> tuple[int, ...]:
    """A schedule with smaller increments than ``steps``.

    It starts at 1% then 5%; a schedule that already did is slowed further by halving every
    gap wider than :data:`LARGEST_CAUTIOUS_JUMP` points. It always ends at 100%.
    """
    given = set(_percents(steps)) | {100}
    slower = given | set(FIRST_CAUTIOUS_STEPS)
    if slower == given:
        ordered = sorted(given)
        slower |= {
            (low + high) // 2
            for low, high in pairwise(ordered)
            if high - low > LARGEST_CAUTIOUS_JUMP
        }
    return tuple(sorted(slower))


def _base_schedule(last: Mapping[str, Any], procedure: Mapping[str, Any]) -> Sequence[float]:
    """The schedule to slow down: the failed rollout's, else the last good one, else the default."""
    if last.get("canary_steps"):
        return list(last["canary_steps"])
    canary = procedure.get("last_successful_canary") or {}
    return list(canary.get("canary_steps") or DEFAULT_CANARY_STEPS)


def _percents(steps: Sequence[float]) -> tuple[int, ...]:
    """Whole percents between 1 and 100, ascending, without repeats."""
    return tuple(sorted({min(100, max(1, round(float(step)))) for step in steps}))
