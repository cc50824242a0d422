"""The drift decision, pure: both the corrected test and the effect size must say so, too few
rows are inconclusive (never "no drift"), Holm corrects for many columns, and an ongoing drift
is not news twice."""

from __future__ import annotations

import pytest

from lifecycle.drift import (
    ColumnStatistic,
    DriftPolicy,
    DriftVerdict,
    holm,
    is_new_drift,
    judge_column,
    judge_drift,
)
from lifecycle.errors import BadInputError

POLICY = DriftPolicy(alpha=0.05, psi_threshold=0.2, min_samples=100)
OUT_NEW = ColumnStatistic("prediction", "categorical", 0.0, 1.0, 0.0, 0, 500, role="output")
OUT_DRIFT = ColumnStatistic("prediction", "categorical", 80.0, 1e-12, 0.9, 900, 500, "output")


def col(
    name: str = "x", p: float = 0.5, psi: float = 0.0, ref: int = 1000, cur: int = 1000
) -> ColumnStatistic:
    return ColumnStatistic(name, "numeric", 0.1, p, psi, ref, cur)


@pytest.mark.parametrize(
    ("case", "column", "expected"),
    [
        ("a small p-value and a large PSI are drift", col(p=1e-9, psi=0.5), DriftVerdict.DRIFT),
        ("a small p-value alone is no drift", col(p=1e-9, psi=0.05), DriftVerdict.NO_DRIFT),
        ("a large PSI alone is no drift", col(p=0.3, psi=0.9), DriftVerdict.NO_DRIFT),
        ("neither is no drift", col(p=0.9, psi=0.01), DriftVerdict.NO_DRIFT),
        ("the PSI threshold itself counts", col(p=1e-9, psi=0.2), DriftVerdict.DRIFT),
        ("p equal to alpha is not significant", col(p=0.05, psi=0.5), DriftVerdict.NO_DRIFT),
        ("too few current rows", col(p=1e-9, psi=0.9, cur=99), DriftVerdict.INCONCLUSIVE),
        ("too few reference rows", col(p=1e-9, psi=0.9, ref=10), DriftVerdict.INCONCLUSIVE),
        ("the minimum itself is enough", col(p=0.9, cur=100), DriftVerdict.NO_DRIFT),
        ("no rows at all", col(cur=0), DriftVerdict.INCONCLUSIVE),
    ],
)
def test_one_column_verdicts(case: str, column: ColumnStatistic, expected: DriftVerdict) -> None:
    report = judge_drift([column], POLICY)
    assert report.columns[0].verdict is expected, case
    assert report.verdict is expected, case


@pytest.mark.parametrize(
    ("case", "columns", "verdict", "drifted"),
    [
        ("one drifting column drifts the model", [col("a", 1e-9, 0.5), col("b")], "drift", ("a",)),
        ("no column drifting", [col("a"), col("b")], "no_drift", ()),
        (
            "an inconclusive column makes the check inconclusive",
            [col("a"), col("b", cur=5)],
            "inconclusive",
            (),
        ),
        (
            "drift wins over an inconclusive column",
            [col("a", 1e-9, 0.5), col("b", cur=5)],
            "drift",
            ("a",),
        ),
        ("nothing to compare is inconclusive", [], "inconclusive", ()),
        (
            "an output without a baseline leaves the inputs' verdict",
            [col("a"), OUT_NEW],
            "no_drift",
            (),
        ),
        ("a drifting output drifts the model", [col("a"), OUT_DRIFT], "drift", ("prediction",)),
    ],
)
def test_the_model_verdict(
    case: str, columns: list[ColumnStatistic], verdict: str, drifted: tuple[str, ...]
) -> None:
    report = judge_drift(columns, POLICY)
    assert (report.verdict.value, report.drifted) == (verdict, drifted), case


def test_holm_corrects_for_the_number_of_columns_tested() -> None:
    # 0.03 alone is significant; among three columns Holm multiplies the smallest p by 3
    alone = judge_drift([col("a", 0.03, 0.5)], POLICY)
    many = judge_drift([col("a", 0.03, 0.5), col("b", 0.5), col("c", 0.9)], POLICY)
    assert alone.verdict is DriftVerdict.DRIFT
    assert many.verdict is DriftVerdict.NO_DRIFT
    assert many.columns[0].adjusted_p_value == pytest.approx(0.09)


def test_columns_with_too_few_rows_are_left_out_of_the_correction() -> None:
    report = judge_drift([col("a", 0.03, 0.5), col("b", 0.5, cur=3)], POLICY)
    assert report.columns[0].adjusted_p_value == pytest.approx(0.03)
    assert report.columns[1].adjusted_p_value is None


@pytest.mark.parametrize(
    ("p_values", "adjusted"),
    [
        ([0.01, 0.04, 0.03], [0.03, 0.06, 0.06]),
        ([0.5], [0.5]),
        ([0.4, 0.5], [0.8, 0.8]),
        ([0.6, 0.7], [1.0, 1.0]),
        ([], []),
    ],
)
def test_holm_adjusted_p_values_match_the_textbook(
    p_values: list[float], adjusted: list[float]
) -> None:
    assert holm(p_values) == pytest.approx(adjusted)


def test_the_summary_names_the_drifted_columns() -> None:
    report = judge_drift([col("age", 1e-9, 0.5), col("income")], POLICY)
    assert report.summary == "drift in 1 of 2 columns: age"
    assert "too few rows for b" in judge_drift([col("b", cur=1)], POLICY).summary
    quiet = judge_drift([col("a"), OUT_NEW], POLICY).summary
    assert quiet == "no drift in 1 column; the output has no baseline yet"


@pytest.mark.parametrize(
    ("case", "previous", "columns", "new"),
    [
        ("first drift after no check", None, [col("a", 1e-9, 0.5)], True),
        ("first drift after a quiet check", (), [col("a", 1e-9, 0.5)], True),
        ("the same drift again", ("a",), [col("a", 1e-9, 0.5)], False),
        ("a column joins the drift", ("a",), [col("a", 1e-9, 0.5), col("b", 1e-9, 0.5)], True),
        ("no drift is never news", ("a",), [col("a")], False),
    ],
)
def test_only_a_new_drift_is_news(
    case: str, previous: tuple[str, ...] | None, columns: list[ColumnStatistic], new: bool
) -> None:
    assert is_new_drift(previous, judge_drift(columns, POLICY)) is new, case


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha": 0.0},
        {"alpha": 1.0},
        {"psi_threshold": 0.0},
        {"psi_threshold": float("nan")},
        {"min_samples": 0},
    ],
)
def test_a_policy_with_impossible_thresholds_is_bad_input(kwargs: dict[str, float]) -> None:
    with pytest.raises(BadInputError):
        DriftPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("column", "adjusted", "reason"),
    [
        (col(p=1e-9, psi=0.5), 1e-9, "p=1e-09 < 0.05, PSI=0.500 >= 0.2"),
        (col(p=0.9, psi=0.01), 0.9, "p=0.9 >= 0.05, PSI=0.010 < 0.2"),
    ],
)
def test_a_column_says_why_in_figures(
    column: ColumnStatistic, adjusted: float, reason: str
) -> None:
    assert judge_column(column, adjusted, POLICY).reason == reason


@pytest.mark.parametrize(
    ("columns", "summary"),
    [
        ([col("a", 1e-9, 0.5), col("b", 1e-9, 0.5), col("c")], "drift in 2 of 3 columns: a, b"),
        ([], "inconclusive: nothing to compare"),
        ([col("b", cur=1), col("c", cur=1)], "inconclusive: too few rows for b, c"),
        ([col("a")], "no drift in 1 column"),
        ([col("a"), col("b")], "no drift in 2 columns"),
        ([col("a"), col("b"), OUT_NEW], "no drift in 2 columns; the output has no baseline yet"),
    ],
)
def test_the_summary_says_the_check_in_one_line(
    columns: list[ColumnStatistic], summary: str
) -> None:
    assert judge_drift(columns, POLICY).summary == summary


def test_a_policy_may_ask_for_a_single_row() -> None:
    assert DriftPolicy(min_samples=1).min_samples == 1
