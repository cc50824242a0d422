"""Drift statistics on known distributions: a shifted sample is found, a sample of the same
distribution is not, and small cases match what scipy and the PSI formula give by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lifecycle.drift import DriftPolicy, DriftVerdict, judge_drift
from mlops.drift_stats import (
    categorical_statistic,
    column_statistic,
    frame_statistics,
    is_categorical,
    numeric_statistic,
    psi,
)


def rng() -> np.random.Generator:
    """A fresh generator per use, so no test depends on another's draws."""
    return np.random.default_rng(14)


def test_a_mean_shift_of_one_standard_deviation_is_drift() -> None:
    ref, cur = rng().normal(0, 1, 2000), rng().normal(1, 1, 2000)
    stat = numeric_statistic("x", ref, cur)
    assert stat.p_value < 1e-10
    assert stat.psi > 0.2
    assert stat.wasserstein == pytest.approx(1.0, abs=0.15)
    assert judge_drift([stat], DriftPolicy()).verdict is DriftVerdict.DRIFT


def test_a_sample_of_the_same_distribution_is_no_drift() -> None:
    stat = numeric_statistic("x", rng().normal(0, 1, 2000), rng().normal(0, 1, 2000))
    assert stat.psi < 0.05
    assert judge_drift([stat], DriftPolicy()).verdict is DriftVerdict.NO_DRIFT


def test_a_tiny_shift_on_a_huge_sample_is_significant_but_not_drift() -> None:
    stat = numeric_statistic("x", rng().normal(0, 1, 50_000), rng().normal(0.05, 1, 50_000))
    assert stat.p_value < 0.05
    assert judge_drift([stat], DriftPolicy()).verdict is DriftVerdict.NO_DRIFT


def test_the_psi_of_known_shares_matches_the_formula() -> None:
    ref, cur = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi(ref, cur) == pytest.approx(expected)
    assert psi(ref, ref) == 0.0


def test_identical_numbers_give_ks_zero_and_p_one() -> None:
    values = np.arange(10, dtype=float)
    stat = numeric_statistic("x", values, values)
    assert (stat.statistic, stat.p_value, stat.psi, stat.wasserstein) == (0.0, 1.0, 0.0, 0.0)


def test_disjoint_numbers_give_ks_one() -> None:
    stat = numeric_statistic("x", np.arange(10.0), np.arange(100.0, 110.0))
    assert stat.statistic == 1.0
    assert stat.p_value < 1e-4


def test_categories_use_the_chi_square_test_of_homogeneity() -> None:
    ref = ["a"] * 50 + ["b"] * 50
    cur = ["a"] * 80 + ["b"] * 20
    stat = categorical_statistic("c", ref, cur)
    # the 2x2 table [[50, 50], [80, 20]]: expected 65/35 per row, chi2 = sum((o-e)^2/e)
    expected = 2 * (15**2 / 65 + 15**2 / 35)
    assert stat.kind == "categorical"
    assert stat.statistic == pytest.approx(expected)
    assert stat.p_value < 0.001


def test_a_category_absent_from_the_reference_gives_a_large_finite_psi() -> None:
    stat = categorical_statistic("c", ["a"] * 100, ["a"] * 50 + ["z"] * 50)
    assert math.isfinite(stat.psi) and stat.psi > 1


def test_one_category_on_both_sides_is_identical() -> None:
    stat = categorical_statistic("c", ["a"] * 10, ["a"] * 10)
    assert (stat.p_value, stat.psi) == (1.0, 0.0)


@pytest.mark.parametrize(
    ("values", "categorical"),
    [
        (["red", "blue"], True),
        ([True, False], True),
        ([0, 1, 2, 1], True),
        ([0.5, 1.5, 2.0], False),
        (list(range(50)), False),
    ],
)
def test_what_counts_as_a_category(values: list[object], categorical: bool) -> None:
    assert is_categorical(values) is categorical


def test_an_empty_side_has_zero_rows_so_the_decision_says_inconclusive() -> None:
    stat = column_statistic("x", [1.0, 2.0], [])
    assert stat.current_rows == 0
    assert judge_drift([stat], DriftPolicy()).verdict is DriftVerdict.INCONCLUSIVE


def test_frame_statistics_find_the_shifted_column_only() -> None:
    ref = rng().normal(0, 1, (1000, 3))
    cur = rng().normal(0, 1, (1000, 3))
    cur[:, 1] += 2
    stats = frame_statistics(["a", "b", "c"], ref.tolist(), cur.tolist())
    report = judge_drift(stats, DriftPolicy())
    assert report.drifted == ("b",)


def test_a_frame_with_text_and_class_labels_tests_them_as_categories() -> None:
    ref = [[float(i % 7), "red" if i % 2 else "blue", i % 3] for i in range(300)]
    cur = [[float(i % 7), "red", i % 3] for i in range(300)]
    stats = frame_statistics(["x", "colour", "label"], ref, cur)
    assert [s.kind for s in stats] == ["categorical", "categorical", "categorical"]
    assert judge_drift(stats, DriftPolicy()).drifted == ("colour",)


def test_whole_numbers_of_many_values_in_a_number_frame_are_numbers() -> None:
    ref = [[float(i), i % 2] for i in range(200)]
    stats = frame_statistics(["n", "flag"], ref, ref)
    assert [s.kind for s in stats] == ["numeric", "categorical"]
