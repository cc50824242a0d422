"""The retraining agent's decisions, pure: how the labelled window is split, whether there is
enough of it, the metrics both versions are judged on, whether the candidate beats or matches
production, and the label the retrained version gets.

The evaluation a run stores (``retraining_runs.evaluation``) has one shape, which the relative
gates read too: ``{"rows": n, "task": "classification", "primary_metric": "accuracy",
"candidate": {metric: value}, "production": {"version": v, metric: value}}``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from lifecycle.errors import RefusedError
from lifecycle.quality import Label, TaskType, classification_metrics
from lifecycle.version_labels import InvalidLabelError, bump_patch, parse_label

HOLDOUT_PERCENT = 20
"""The share of a window's labelled requests held out to evaluate both versions on."""

PRIMARY_METRIC = {TaskType.CLASSIFICATION: "accuracy", TaskType.REGRESSION: "rmse"}
"""The metric a candidate must beat or match, by task."""
LOWER_IS_BETTER = frozenset({"rmse", "mae"})


class NotEnoughDataError(RefusedError):
    """The window holds too few labelled requests to train on and evaluate."""


def is_holdout(request_id: str, percent: int = HOLDOUT_PERCENT) -> bool:
    """Whether a request goes to the held-out file: by a hash of its id, so the same window
    always splits the same way, whatever order its rows come in."""
    digest = hashlib.sha256(request_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < percent


def check_enough(train: int, holdout: int, min_train: int, min_holdout: int) -> None:
    """Refuse (NotEnoughDataError, with the counts) a split too small to learn or judge on."""
    if train < min_train or holdout < min_holdout:
        raise NotEnoughDataError(
            f"too few labelled predictions in the window: {train} to train on (need "
            f"{min_train}) and {holdout} held out (need {min_holdout})"
        )


def evaluation_metrics(task: TaskType, pairs: Sequence[tuple[Label, Label]]) -> dict[str, float]:
    """``(predicted, label)`` pairs -> accuracy and f1_macro (a classifier) or rmse and mae
    (a regressor); {} when no pair can be scored."""
    if task is TaskType.REGRESSION:
        numeric = [(p, t) for p, t in pairs if isinstance(p, float) and isinstance(t, float)]
        if not numeric:
            return {}
        errors = [p - t for p, t in numeric]
        return {
            "rmse": math.sqrt(sum(e * e for e in errors) / len(errors)),
            "mae": sum(abs(e) for e in errors) / len(errors),
        }
    scored = classification_metrics(pairs)
    return {"accuracy": scored["accuracy"], "f1_macro": scored["f1"]} if scored else {}


def beats_or_matches(evaluation: Mapping[str, Any], primary_metric: str, tolerance: float) -> bool:
    """Whether the candidate's ``primary_metric`` is at least production's less ``tolerance``
    (at most production's plus it, for an error metric). A figure that is missing, not a
    number or not finite on either side is never a match."""
    candidate = _figure(evaluation.get("candidate"), primary_metric)
    production = _figure(evaluation.get("production"), primary_metric)
    if candidate is None or production is None or not tolerance >= 0:
        return False
    if primary_metric in LOWER_IS_BETTER:
        return candidate <= production + tolerance
    return candidate >= production - tolerance


def _figure(side: Any, metric: str) -> float | None:
    value = side.get(metric) if isinstance(side, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def retrained_label(parent_label: str | None, taken: Collection[str]) -> str | None:
    """The label of a version retrained from a parent labelled ``parent_label``: its next
    patch, or the next free patch after it when that one is taken; None for an unlabelled
    (or unreadably labelled) parent."""
    if not parent_label:
        return None
    try:
        label = bump_patch(parse_label(parent_label))
    except InvalidLabelError:
        return None
    used = set(taken)
    while str(label) in used:
        label = bump_patch(label)
    return str(label)


def track_record(paths: Mapping[str, Any], trigger: str, window: str) -> str | None:
    """What memory says of earlier runs like this one (same trigger, same window length), from
    the procedure's ``paths`` (``retrain:<trigger>:<window>``): ``"drift-triggered runs on 7d
    windows passed 2 of 3 times"``; None when there were none."""
    stats = paths.get(f"retrain:{trigger}:{window}")
    runs = stats.get("episodes") if isinstance(stats, Mapping) else None
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        return None
    passed = stats.get("succeeded", 0) if isinstance(stats, Mapping) else 0
    times = "time" if runs == 1 else "times"
    return f"{trigger}-triggered runs on {window} windows passed {passed} of {runs} {times}"
