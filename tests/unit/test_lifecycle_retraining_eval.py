"""The retraining agent's pure decisions: the split, enough data, the metrics, beats or
matches, and the retrained version's label."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lifecycle.errors import RefusedError
from lifecycle.quality import TaskType
from lifecycle.retraining_eval import (
    NotEnoughDataError,
    beats_or_matches,
    check_enough,
    evaluation_metrics,
    is_holdout,
    retrained_label,
    track_record,
)


def test_the_split_is_the_same_whatever_order_the_rows_come_in() -> None:
    ids = [f"req-{n:05d}" for n in range(2000)]
    first = {r for r in ids if is_holdout(r)}
    second = {r for r in reversed(ids) if is_holdout(r)}
    assert first == second
    assert 300 <= len(first) <= 500  # about a fifth


@pytest.mark.parametrize(
    ("request_id", "held_out"),
    [("req-219", False), ("req-240", False), ("req-3", False), ("req-4", True), ("req-6", True)],
)
def test_the_split_is_pinned_by_the_first_eight_bytes_of_the_id_s_sha256(
    request_id: str, held_out: bool
) -> None:
    """Golden values: a run's split must not move between releases (req-219 and req-240 sit
    exactly at the 20% edge; req-3, -4 and -6 change side if more bytes are read)."""
    assert is_holdout(request_id) is held_out


def test_a_request_stays_on_its_side_of_the_split() -> None:
    assert [is_holdout("req-00042") for _ in range(5)] == [is_holdout("req-00042")] * 5


@pytest.mark.parametrize("percent", [0, 100])
def test_the_holdout_share_is_honoured_at_its_ends(percent: int) -> None:
    assert {is_holdout(f"r{n}", percent) for n in range(200)} == {percent == 100}


@pytest.mark.parametrize(
    ("train", "holdout", "refused"),
    [(40, 10, False), (39, 10, True), (40, 9, True), (0, 0, True), (500, 100, False)],
)
def test_too_few_labelled_rows_are_refused_with_the_counts(
    train: int, holdout: int, refused: bool
) -> None:
    if not refused:
        check_enough(train, holdout, 40, 10)
        return
    with pytest.raises(NotEnoughDataError, match=f"{train} to train on .* {holdout} held out"):
        check_enough(train, holdout, 40, 10)
    assert issubclass(NotEnoughDataError, RefusedError)


@pytest.mark.parametrize(
    ("task", "pairs", "expected"),
    [
        (TaskType.CLASSIFICATION, [(1.0, 1.0), (0.0, 1.0)], {"accuracy": 0.5, "f1_macro": 1 / 3}),
        (TaskType.CLASSIFICATION, [("a", "a"), ("b", "b")], {"accuracy": 1.0, "f1_macro": 1.0}),
        (TaskType.CLASSIFICATION, [], {}),
        (TaskType.REGRESSION, [(1.0, 2.0), (3.0, 1.0)], {"rmse": math.sqrt(2.5), "mae": 1.5}),
        (TaskType.REGRESSION, [("a", 1.0)], {}),
    ],
)
def test_both_versions_are_scored_on_the_task_metrics(
    task: TaskType, pairs: list[Any], expected: dict[str, float]
) -> None:
    assert evaluation_metrics(task, pairs) == pytest.approx(expected)


def ev(candidate: Any, production: Any, metric: str = "accuracy") -> dict[str, Any]:
    return {
        "rows": 30,
        "candidate": {metric: candidate},
        "production": {"version": "1", metric: production},
    }


@pytest.mark.parametrize(
    ("evaluation", "metric", "tolerance", "passes"),
    [
        (ev(0.95, 0.90), "accuracy", 0.0, True),  # beats
        (ev(0.90, 0.90), "accuracy", 0.0, True),  # matches
        (ev(0.89, 0.90), "accuracy", 0.0, False),  # worse
        (ev(0.89, 0.90), "accuracy", 0.02, True),  # within the tolerance
        (ev(0.87, 0.90), "accuracy", 0.02, False),  # beyond it
        (ev(1.0, 1.2, "rmse"), "rmse", 0.0, True),  # a smaller error beats
        (ev(1.3, 1.2, "rmse"), "rmse", 0.0, False),  # a larger one does not
        (ev(1.3, 1.2, "rmse"), "rmse", 0.1, True),
        (ev(0.5, 0.6, "mae"), "mae", 0.0, True),
        (ev(float("nan"), 0.9), "accuracy", 0.0, False),  # not a figure
        (ev(0.9, float("inf")), "accuracy", 0.0, False),
        (ev(float("inf"), 0.9), "accuracy", 0.0, False),  # an infinite candidate is no figure
        (ev(None, 0.9), "accuracy", 0.0, False),
        (ev(True, 0.9), "accuracy", 0.0, False),
        (ev("0.99", 0.9), "accuracy", 0.0, False),
        (ev(0.95, 0.9), "f1_macro", 0.0, False),  # the metric is missing on both sides
        ({"rows": 0}, "accuracy", 0.0, False),
        (ev(0.95, 0.9), "accuracy", -0.1, False),  # a negative tolerance is no tolerance
        (ev(0.95, 0.9), "accuracy", float("nan"), False),
    ],
)
def test_a_candidate_goes_on_only_when_it_beats_or_matches_production(
    evaluation: dict[str, Any], metric: str, tolerance: float, passes: bool
) -> None:
    assert beats_or_matches(evaluation, metric, tolerance) is passes


@pytest.mark.parametrize(
    ("parent", "taken", "label"),
    [
        ("1.0.0", set(), "1.0.1"),
        ("v1.2.3", {"1.2.3"}, "1.2.4"),
        ("1.0.0", {"1.0.0", "1.0.1"}, "1.0.2"),  # the next free patch
        ("1.0.0", {"1.0.1", "1.0.2", "1.0.4"}, "1.0.3"),
        (None, set(), None),  # an unlabelled parent: no label
        ("", set(), None),
        ("garbage", set(), None),
    ],
)
def test_a_retrained_version_bumps_its_parents_patch(
    parent: str | None, taken: set[str], label: str | None
) -> None:
    assert retrained_label(parent, taken) == label


@pytest.mark.parametrize(
    ("paths", "said"),
    [
        (
            {"retrain:drift:7d": {"episodes": 2, "succeeded": 2}},
            "drift-triggered runs on 7d windows passed 2 of 2 times",
        ),
        (
            {"retrain:drift:7d": {"episodes": 1, "succeeded": 0, "refused": 1}},
            "drift-triggered runs on 7d windows passed 0 of 1 time",
        ),
        ({"retrain:drift:2d": {"episodes": 3, "succeeded": 3}}, None),  # another window
        ({"retrain:manual:7d": {"episodes": 3, "succeeded": 3}}, None),  # another trigger
        ({"retrain:drift:7d": {"episodes": 0}}, None),
        (
            {"retrain:drift:7d": {"episodes": 2}},
            "drift-triggered runs on 7d windows passed 0 of 2 times",
        ),
        ({"retrain:drift:7d": "garbage"}, None),
        ({}, None),
    ],
)
def test_memory_says_how_often_runs_like_this_one_passed(
    paths: dict[str, Any], said: str | None
) -> None:
    assert track_record(paths, "drift", "7d") == said
