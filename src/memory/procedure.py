"""Procedural memory: the patterns distilled from one model's episodes (pure, no I/O).

:func:`distill` folds the whole history, oldest first, into one document. Recomputing it from
every episode (rather than patching it) lets a later rollback change what an earlier rollout's
outcome turned out to be, and keeps the procedure right whatever order writers raced in.

The document::

    {
      "model_name": "fraud_detector",
      "episode_count": 7,
      "updated_at": "<recorded_at of the newest episode>" | None,
      "paths": {
        "staging->shadow": {"episodes": 3, "succeeded": 2, "rolled_back": 0, "failed": 1,
                            "refused": 0, "failure_reasons": [{"reason": ..., "count": ...}],
                            "last_episode_id": "...", "last_outcome": "succeeded"},
        "deploy:canary": {...},
      },
      "failure_reasons": [{"reason": "error rate 4.1% > 1%", "count": 2}, ...],
      "last_successful_canary": {"episode_id": "...", "canary_steps": [5, 10, 25, 50, 100]} | None,
      "last_production_rollout": {"episode_id": "...", "kind": "deployment", "path": ...,
                                  "version": ..., "outcome": "rolled_back", "reasons": [...],
                                  "recorded_at": ..., "rolled_back_by": "<episode id>" | None}
                                 | None,
    }

Reasons lists are ordered most common first (ties: first seen first). Outcomes are *effective*:
a rollout later undone by a rollback episode counts as rolled back, with the rollback's reasons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from memory.episodes import (
    DEPLOYMENT,
    OUTCOMES,
    ROLLBACK,
    ROLLED_BACK,
    SUCCEEDED,
    is_production_rollout,
)


@dataclass
class _Resolved:
    """One episode with the outcome and reasons it turned out to have."""

    episode: Mapping[str, Any]
    outcome: str | None
    reasons: list[str]
    rolled_back_by: str | None = None
    undid_a_rollout: bool = False


@dataclass
class _PathStats:
    """Counters for one path, turned into the document's per-path entry by :meth:`as_dict`."""

    episodes: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    last_episode_id: str | None = None
    last_outcome: str | None = None

    def add(self, item: _Resolved) -> None:
        """Count one episode, the newest so far."""
        self.episodes += 1
        if item.outcome:
            self.outcomes[item.outcome] += 1
        self.reasons.update(_failure_reasons_of(item))
        self.last_episode_id = item.episode.get("id")
        self.last_outcome = item.outcome

    def as_dict(self) -> dict[str, Any]:
        """The per-path entry of the procedure document."""
        return {
            "episodes": self.episodes,
            **{outcome: self.outcomes[outcome] for outcome in OUTCOMES},
            "failure_reasons": ranked(self.reasons),
            "last_episode_id": self.last_episode_id,
            "last_outcome": self.last_outcome,
        }


def distill(model_name: str, episodes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The procedure document for ``model_name`` from its episodes, given oldest first."""
    resolved = _resolve_outcomes(episodes)
    paths: dict[str, _PathStats] = {}
    reasons: Counter[str] = Counter()
    for item in resolved:
        path = str(item.episode.get("path") or item.episode.get("kind"))
        paths.setdefault(path, _PathStats()).add(item)
        reasons.update(_failure_reasons_of(item))
    return {
        "model_name": model_name,
        "episode_count": len(resolved),
        "updated_at": resolved[-1].episode.get("recorded_at") if resolved else None,
        "paths": {path: stats.as_dict() for path, stats in paths.items()},
        "failure_reasons": ranked(reasons),
        "last_successful_canary": _last_successful_canary(resolved),
        "last_production_rollout": _last_production_rollout(resolved),
    }


def _resolve_outcomes(episodes: Iterable[Mapping[str, Any]]) -> list[_Resolved]:
    """Every episode with its effective outcome: rollbacks mark the rollout they undid.

    A rollback undoes the rollout named by its ``rolled_back_episode_id``, else the newest
    production rollout with its ``deployment_id``, else the newest production rollout not yet
    rolled back.
    """
    resolved: list[_Resolved] = []
    for episode in episodes:
        item = _Resolved(episode, episode.get("outcome"), _reasons(episode))
        if episode.get("kind") == ROLLBACK:
            target = _rollout_undone_by(episode, resolved)
            if target is not None:
                target.outcome = ROLLED_BACK
                target.reasons = _merged(target.reasons, item.reasons)
                target.rolled_back_by = episode.get("id")
                item.undid_a_rollout = True
        resolved.append(item)
    return resolved


def _rollout_undone_by(
    rollback: Mapping[str, Any], earlier: Sequence[_Resolved]
) -> _Resolved | None:
    """The production rollout a rollback episode undid, if the history holds it."""
    rollouts = [item for item in reversed(earlier) if is_production_rollout(item.episode)]
    named = rollback.get("rolled_back_episode_id")
    if named:
        return next((item for item in rollouts if item.episode.get("id") == named), None)
    deployment = rollback.get("deployment_id")
    if deployment:
        match = [item for item in rollouts if item.episode.get("deployment_id") == deployment]
        if match:
            return match[0]
    return next((item for item in rollouts if item.rolled_back_by is None), None)


def _failure_reasons_of(item: _Resolved) -> list[str]:
    """The reasons that count as failure reasons: those of an episode that did not succeed.

    A rollback episode's reasons are counted once, on the rollout it undid; a rollback with no
    known rollout keeps them itself.
    """
    if item.episode.get("kind") == ROLLBACK:
        return [] if item.undid_a_rollout else item.reasons
    return item.reasons if item.outcome not in (None, SUCCEEDED) else []


def ranked(counts: Counter[str]) -> list[dict[str, Any]]:
    """Counts as ``[{"reason", "count"}]``, most common first, ties in the order first seen."""
    return [{"reason": reason, "count": count} for reason, count in counts.most_common()]


def _last_successful_canary(resolved: Sequence[_Resolved]) -> dict[str, Any] | None:
    """The newest deployment with a canary schedule whose effective outcome is success."""
    for item in reversed(resolved):
        steps = item.episode.get("canary_steps")
        if item.episode.get("kind") == DEPLOYMENT and steps and item.outcome == SUCCEEDED:
            return {"episode_id": item.episode.get("id"), "canary_steps": list(steps)}
    return None


def _last_production_rollout(resolved: Sequence[_Resolved]) -> dict[str, Any] | None:
    """The newest production rollout and how it ended.

    A rollback whose rollout the history does not hold (it predates the memory) stands in for
    it: production was rolled back, and that rollback episode is what there is to learn from.
    """
    for item in reversed(resolved):
        episode = item.episode
        if is_production_rollout(episode):
            return _rollout_summary(item, item.outcome, item.rolled_back_by)
        if episode.get("kind") == ROLLBACK and not item.undid_a_rollout:
            return _rollout_summary(item, ROLLED_BACK, episode.get("id"))
    return None


def _rollout_summary(item: _Resolved, outcome: str | None, by: str | None) -> dict[str, Any]:
    """The ``last_production_rollout`` entry for one resolved episode."""
    episode = item.episode
    return {
        "episode_id": episode.get("id"),
        "kind": episode.get("kind"),
        "path": episode.get("path"),
        "version": episode.get("version"),
        "outcome": outcome,
        "reasons": item.reasons,
        "canary_steps": episode.get("canary_steps"),
        "recorded_at": episode.get("recorded_at"),
        "rolled_back_by": by,
    }


def _reasons(episode: Mapping[str, Any]) -> list[str]:
    """The episode's reasons as a list of text (a lone string is one reason)."""
    reasons = episode.get("reasons") or []
    if isinstance(reasons, str):
        return [reasons]
    return [str(reason) for reason in reasons]


def _merged(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """``first`` then the reasons of ``second`` not already in it."""
    return [*first, *(reason for reason in second if reason not in first)]
