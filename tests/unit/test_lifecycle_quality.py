"""Quality from feedback pinned exactly: labels are read one way, a batch is refused as a whole,
the same label twice changes nothing, and a drop is called only beyond the margin with enough
labelled predictions."""

from __future__ import annotations

import re

import pytest

from lifecycle.errors import BadInputError, RefusedError
from lifecycle.quality import (
    LABEL_PATTERN,
    LabelConflictError,
    QualityJudgement,
    QualityVerdict,
    TaskType,
    as_label,
    check_batch,
    check_label,
    classification_metrics,
    infer_task,
    is_new_drop,
    judge,
    parse_window,
    plan_feedback,
    predicted_label,
    regression_metrics,
    rolling_metrics,
    shown,
)

C, R = TaskType.CLASSIFICATION, TaskType.REGRESSION
OK, DROP, WAIT = QualityVerdict.OK, QualityVerdict.DROP, QualityVerdict.INCONCLUSIVE

TASKS = {
    "iris's training metrics": ({"accuracy": 0.97, "f1_macro": 0.96}, None, C),
    "a regressor's": ({"mae": 3.1, "r2": 0.8}, None, R),
    "the setting wins": ({"accuracy": 0.9}, "Regression ", R),
    "nothing to go on": ({"latency_ms": 3.0}, None, None),
    "contradicting names": ({"accuracy": 0.9, "rmse": 2.0}, None, None),
    "no metrics": ({}, None, None),
}


@pytest.mark.parametrize(("metrics", "setting", "task"), TASKS.values(), ids=TASKS.keys())
def test_the_task_type_is_the_setting_else_what_the_metric_names_say(
    metrics: dict[str, float], setting: str | None, task: TaskType | None
) -> None:
    assert infer_task(metrics, setting) == task


def test_an_unknown_task_setting_is_bad_input() -> None:
    with pytest.raises(
        BadInputError,
        match=r"^unknown task type 'ranking'; expected one of: classification, regression$",
    ):
        infer_task({}, "ranking")


LABELS = {
    "an int": (1, 1.0),
    "a number in a CSV cell": (" 1 ", 1.0),
    "a float": (2.5, 2.5),
    "a class name": (" setosa", "setosa"),
    "nan as text stays text": ("nan", "nan"),
    "a class name of 200 characters": ("c" * 200, "c" * 200),
    "a class name in any script": (" Ünsicher\u3000", "Ünsicher"),
}


@pytest.mark.parametrize(("given", "label"), LABELS.values(), ids=LABELS.keys())
def test_labels_are_numbers_or_class_names(given: object, label: object) -> None:
    assert check_label(given, "line 2") == label


@pytest.mark.parametrize(
    "bad", [None, True, "", "  ", float("nan"), float("inf"), [1], "x" * 201, "a\x00b", "tab\there"]
)
def test_a_malformed_label_is_bad_input_naming_where_it_is(bad: object) -> None:
    with pytest.raises(BadInputError, match=r"^line 7: "):
        check_label(bad, "line 7")


BATCHES = {
    "an empty request id": [("line 2", "a", 1), ("line 3", "", 1)],
    "a request id with a space": [("line 2", "a b", 1)],
    "a request id over 64 characters": [("line 2", "r" * 65, 1)],
    "a request id that is a number": [("line 2", 7, 1)],
    "a request id with a non-ASCII letter": [("line 2", "r\u00e9q", 1)],
    "one id, two labels": [("line 2", "a", 1), ("line 3", "a", 2)],
}


@pytest.mark.parametrize("rows", BATCHES.values(), ids=BATCHES.keys())
def test_a_batch_is_refused_at_its_first_bad_row(rows: list[tuple[str, object, object]]) -> None:
    with pytest.raises(BadInputError, match=rf"^{rows[-1][0]}: "):
        check_batch(rows)


def test_a_batch_repeating_a_label_is_one_label_and_an_empty_batch_is_refused() -> None:
    assert check_batch([("1", "a", "1"), ("2", "a", 1), ("3", "b", "cat")]) == {
        "a": 1.0,
        "b": "cat",
    }
    with pytest.raises(
        BadInputError, match=r"^no feedback given: expected rows of request_id and label$"
    ):
        check_batch([])


def test_the_same_label_again_is_a_no_op_and_a_new_one_is_added() -> None:
    plan = plan_feedback({"a": 1.0, "b": 2.0}, {"a": 1.0}, replace=False)
    assert (plan.added, plan.replaced, plan.unchanged) == ({"b": 2.0}, {}, ("a",))


def test_a_different_label_is_refused_unless_replacing() -> None:
    with pytest.raises(
        LabelConflictError, match=r"request a already has label 1, not 2 \(1 such\)"
    ):
        plan_feedback({"a": 2.0, "b": 1.0}, {"a": 1.0}, replace=False)
    assert issubclass(LabelConflictError, RefusedError)
    plan = plan_feedback({"a": 2.0, "b": 1.0}, {"a": 1.0}, replace=True)
    assert (plan.added, plan.replaced, plan.unchanged) == ({"b": 1.0}, {"a": 2.0}, ())


OUTPUTS = {
    "one class": ({"predictions": [2]}, 2.0),
    "one class name": ({"predictions": ["virginica"]}, "virginica"),
    "one value in a row": ({"predictions": [[0.25]]}, 0.25),
    "a batch of two": ({"predictions": [1, 2]}, None),
    "a bare list (capture's reading)": ([1], 1.0),
    "no predictions": ({"error": "injected fault"}, None),
    "an error answer": (None, None),
    "an unusable value": ({"predictions": [None]}, None),
}


@pytest.mark.parametrize(("output", "label"), OUTPUTS.values(), ids=OUTPUTS.keys())
def test_the_predicted_label_is_the_answer_s_one_prediction(output: object, label: object) -> None:
    assert predicted_label(output) == label


def test_accuracy_and_macro_f1_are_scikit_learn_s() -> None:
    pairs: list[tuple[float | str, float | str]] = [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (2.0, 2.0)]
    # sklearn: accuracy_score = 0.75; f1_score(average="macro") = (2/3 + 2/3 + 1) / 3
    assert classification_metrics(pairs) == {"accuracy": 0.75, "f1": (2 / 3 + 2 / 3 + 1) / 3}
    assert classification_metrics([]) == {}
    # a class only labelled, one only predicted: F1 averages over both, a missed class is 0
    assert classification_metrics([(0.0, 0.0), (1.0, 0.0), (2.0, 3.0)]) == {
        "accuracy": 1 / 3,
        "f1": (2 / 3 + 0 + 0 + 0) / 4,
    }


def test_the_rolling_metrics_are_the_task_s() -> None:
    pairs: list[tuple[float | str, float | str]] = [(1.0, 1.0), (3.0, 1.0)]
    assert rolling_metrics(TaskType.CLASSIFICATION, pairs) == {"accuracy": 0.5, "f1": 1 / 3}
    assert rolling_metrics(TaskType.REGRESSION, pairs) == {"mae": 1.0}


def test_mae_skips_pairs_that_are_not_numbers() -> None:
    assert regression_metrics([(1.0, 2.0), (5.0, 2.0), ("x", 1.0)]) == {"mae": 2.0}
    assert regression_metrics([("x", "y")]) == {}


IRIS = {"accuracy": 0.9, "f1_macro": 0.88}
JUDGED = {
    "within the margin": (C, {"accuracy": 0.86}, IRIS, 50, OK, "accuracy", 0.86),
    "at the margin exactly": (C, {"accuracy": 0.85}, IRIS, 50, OK, "accuracy", 0.85),
    "beyond the margin": (C, {"accuracy": 0.84}, IRIS, 50, DROP, "accuracy", 0.84),
    "better than approved": (C, {"accuracy": 1.0}, IRIS, 50, OK, "accuracy", 1.0),
    "too few labels": (C, {"accuracy": 0.1}, IRIS, 49, WAIT, "accuracy", 0.1),
    "no labels": (C, {}, IRIS, 0, WAIT, "accuracy", None),
    "approved on f1 only": (C, {"accuracy": 1, "f1": 0.5}, {"f1": 0.9}, 50, DROP, "f1", 0.5),
    "mae rising beyond": (R, {"mae": 0.36}, {"mae": 0.3}, 50, DROP, "mae", 0.36),
    "mae rising within": (R, {"mae": 0.35}, {"mae": 0.3}, 50, OK, "mae", 0.35),
    "mae falling": (R, {"mae": 0.1}, {"mae": 0.3}, 50, OK, "mae", 0.1),
    "no approved metric": (C, {"accuracy": 0.1}, {"latency": 1.0}, 50, WAIT, None, None),
    "unknown task": (None, {"accuracy": 0.1}, IRIS, 50, WAIT, None, None),
}


@pytest.mark.parametrize(
    ("task", "observed", "approved", "labelled", "verdict", "metric", "value"),
    JUDGED.values(),
    ids=JUDGED.keys(),
)
def test_a_drop_is_beyond_the_margin_with_enough_labelled_predictions(
    task: TaskType | None,
    observed: dict[str, float],
    approved: dict[str, float],
    labelled: int,
    verdict: QualityVerdict,
    metric: str | None,
    value: float | None,
) -> None:
    judged = judge(task, observed, approved, labelled, margin=0.05, min_labelled=50)
    assert (judged.verdict, judged.metric, judged.observed, judged.labelled) == (
        verdict,
        metric,
        value,
        labelled,
    )


def test_the_summary_is_one_readable_line() -> None:
    assert judge(C, {"accuracy": 0.8}, IRIS, 60, 0.05, 50) == QualityJudgement(
        DROP,
        "accuracy",
        0.8,
        0.9,
        60,
        "accuracy dropped to 0.8000 over 60 labelled predictions (approved 0.9000, margin 0.05)",
    )
    assert judge(C, {"accuracy": 0.86}, IRIS, 50, 0.05, 50).summary == (
        "accuracy is 0.8600 over 50 labelled predictions (approved 0.9000, margin 0.05)"
    )
    assert judge(C, {}, IRIS, 3, 0.05, 50) == QualityJudgement(
        WAIT, "accuracy", None, 0.9, 3, "3 labelled predictions, 50 needed"
    )
    assert judge(None, {}, IRIS, 3, 0.05, 50) == QualityJudgement(
        WAIT, None, None, None, 3, "task type unknown"
    )
    assert judge(R, {}, IRIS, 3, 0.05, 50) == QualityJudgement(
        WAIT, None, None, None, 3, "no approved metric"
    )


NEW_DROPS = {
    "first drop": (None, DROP, True),
    "after ok": (OK, DROP, True),
    "still dropped": (DROP, DROP, False),
    "ok again": (DROP, OK, False),
    "inconclusive": (None, WAIT, False),
}


@pytest.mark.parametrize(("previous", "current", "new"), NEW_DROPS.values(), ids=NEW_DROPS.keys())
def test_only_a_new_drop_raises_an_alert(
    previous: QualityVerdict | None, current: QualityVerdict, new: bool
) -> None:
    assert is_new_drop(previous, current) is new


WINDOWS = {
    "1s": 1.0,
    "366d": 31622400.0,
    "1h": 3600.0,
    "30m": 1800.0,
    " 90s ": 90.0,
    "7d": 604800.0,
    "600": 600.0,
    "1.5h": 5400.0,
}


@pytest.mark.parametrize(("text", "seconds"), WINDOWS.items(), ids=WINDOWS.keys())
def test_a_window_reads_as_seconds(text: str, seconds: float) -> None:
    assert parse_window(text) == seconds


@pytest.mark.parametrize("bad", ["", "0s", "h", "53w", "-1h", "367d", "0.5"])
def test_a_bad_window_is_bad_input(bad: str) -> None:
    with pytest.raises(BadInputError, match="is not a duration of 1 s to 366d"):
        parse_window(bad)


def test_a_label_is_shown_as_a_person_writes_it() -> None:
    assert [shown(x) for x in (2.0, 0.25, -3.0, 1e20, "setosa")] == [
        "2",
        "0.25",
        "-3",
        "1e+20",
        "'setosa'",
    ]


@pytest.mark.parametrize("text", ["setosa", " Ünsicher ", "a b", "x" * 3])
def test_the_api_s_label_pattern_admits_what_a_label_is(text: str) -> None:
    assert re.fullmatch(LABEL_PATTERN, text) and as_label(text) is not None


@pytest.mark.parametrize("text", ["", "  ", "\u3000", "a\x00", "\x85", "a\tb", "\x7f"])
def test_the_api_s_label_pattern_refuses_what_a_label_is_not(text: str) -> None:
    assert not re.fullmatch(LABEL_PATTERN, text)
    assert as_label(text) is None
