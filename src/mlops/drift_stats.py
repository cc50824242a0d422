"""Drift statistics per column, by scipy.stats and numpy (``lifecycle.drift`` judges them).

- numbers: the two-sample Kolmogorov-Smirnov test (``ks_2samp``), the PSI over ten bins cut at
  the reference's deciles, and the Wasserstein distance divided by the reference's standard
  deviation (so 0.5 means "half a standard deviation of mass moved", whatever the unit);
- categories: the chi-square test of homogeneity on the two samples' counts
  (``chi2_contingency``) and the PSI over the categories.

Empty bins get a small floor (``EPSILON``) in the PSI, as Evidently and NannyML do, so a
category absent from one sample gives a large, finite index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lifecycle.drift import ColumnStatistic


def _stats() -> Any:
    """``scipy.stats``, imported on the first test run, not with this module: it takes about a
    second to import, and the ``deployer`` command line imports this module for every command."""
    from scipy import stats  # type: ignore[import-untyped]

    return stats


EPSILON = 1e-4
"""The share an empty bin counts as in the PSI."""
BINS = 10
"""PSI bins for numbers: cut at the reference's quantiles."""
MAX_CATEGORIES_AS_NUMBERS = 20
"""Whole numbers with at most this many distinct reference values are categories (class
labels, counts of a few values); more are numbers."""


def psi(reference_shares: np.ndarray, current_shares: np.ndarray) -> float:
    """The population stability index of two share vectors over the same bins."""
    ref = np.clip(reference_shares, EPSILON, None)
    cur = np.clip(current_shares, EPSILON, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def is_categorical(values: Sequence[Any]) -> bool:
    """Strings and booleans are categories; so are whole numbers of few distinct values."""
    if any(isinstance(v, str | bool) for v in values):
        return True
    numbers = [float(v) for v in values]
    whole = all(math.isfinite(v) and v.is_integer() for v in numbers)
    return whole and len(set(numbers)) <= MAX_CATEGORIES_AS_NUMBERS


def numeric_statistic(
    name: str, reference: np.ndarray, current: np.ndarray, role: str = "feature"
) -> ColumnStatistic:
    """KS test, decile PSI and scaled Wasserstein distance of two number samples."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, BINS + 1)[1:-1]))
    ref_counts = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=BINS)
    cur_counts = np.bincount(np.searchsorted(edges, current, side="right"), minlength=BINS)
    spread = float(np.std(reference))
    stats = _stats()
    distance = float(stats.wasserstein_distance(reference, current))
    scaled = distance / spread if spread > 0 else (0.0 if distance == 0 else math.inf)
    # The exact KS distribution costs ~40 ms a column at 5,000 x 10,000 rows; past a million
    # pairs the asymptotic one agrees with it to the third decimal.
    method = "asymp" if len(reference) * len(current) >= 1_000_000 else "auto"
    result = stats.ks_2samp(reference, current, method=method)
    return ColumnStatistic(
        name=name,
        kind="numeric",
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
        psi=psi(ref_counts / len(reference), cur_counts / len(current)),
        reference_rows=len(reference),
        current_rows=len(current),
        role=role,
        wasserstein=scaled,
    )


def categorical_statistic(
    name: str, reference: Sequence[Any], current: Sequence[Any], role: str = "feature"
) -> ColumnStatistic:
    """Chi-square test of homogeneity and the PSI over the categories of both samples."""
    labels = sorted({str(v) for v in reference} | {str(v) for v in current})
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((2, len(labels)))
    for row, values in enumerate((reference, current)):
        for value in values:
            table[row, index[str(value)]] += 1
    if len(labels) < 2:  # one category on both sides: identical, nothing to test
        statistic, p_value = 0.0, 1.0
    else:
        result = _stats().chi2_contingency(table, correction=False)
        statistic, p_value = float(result.statistic), float(result.pvalue)
    return ColumnStatistic(
        name=name,
        kind="categorical",
        statistic=statistic,
        p_value=p_value,
        psi=psi(table[0] / len(reference), table[1] / len(current)),
        reference_rows=len(reference),
        current_rows=len(current),
        role=role,
    )


def column_statistic(
    name: str, reference: Sequence[Any], current: Sequence[Any], role: str = "feature"
) -> ColumnStatistic:
    """The statistic a column's kind calls for (judged on the reference's values). A side with
    no rows gives a statistic the decision reads as inconclusive (zero rows)."""
    if not reference or not current:
        return ColumnStatistic(name, "unknown", 0.0, 1.0, 0.0, len(reference), len(current), role)
    if is_categorical(reference):
        return categorical_statistic(name, reference, current, role)
    try:
        ref = np.asarray(reference, dtype=float)
        cur = np.asarray(current, dtype=float)
    except (TypeError, ValueError):  # numbers in the reference, text in production
        return categorical_statistic(name, reference, current, role)
    return numeric_statistic(name, ref, cur, role)


def frame_statistics(
    columns: Sequence[str],
    reference: Sequence[Sequence[Any]],
    current: Sequence[Sequence[Any]],
) -> list[ColumnStatistic]:
    """Every feature's statistic; ``reference`` and ``current`` are rows in ``columns`` order."""
    ref, cur = _as_matrix(reference, len(columns)), _as_matrix(current, len(columns))
    if ref is not None and cur is not None:  # all numbers: no per-value Python
        return [
            numeric_statistic(name, ref[:, i], cur[:, i])
            if not _few_whole_numbers(ref[:, i])
            else categorical_statistic(name, ref[:, i].tolist(), cur[:, i].tolist())
            for i, name in enumerate(columns)
        ]
    ref_cols = list(zip(*reference, strict=True)) if reference else [() for _ in columns]
    cur_cols = list(zip(*current, strict=True)) if current else [() for _ in columns]
    return [
        column_statistic(name, list(ref_cols[i]), list(cur_cols[i]))
        for i, name in enumerate(columns)
    ]


def _as_matrix(rows: Sequence[Sequence[Any]], width: int) -> np.ndarray | None:
    """The rows as a float matrix, or None when a value is not a number (or there are none)."""
    if not rows or any(isinstance(v, str | bool) for v in rows[0]):
        return None
    try:
        matrix = np.asarray(rows, dtype=float)
    except (TypeError, ValueError):
        return None
    ok = matrix.ndim == 2 and matrix.shape[1] == width and bool(np.isfinite(matrix).all())
    return matrix if ok else None


def _few_whole_numbers(values: np.ndarray) -> bool:
    """``is_categorical`` for a column of numbers, vectorised."""
    return (
        bool(np.all(np.mod(values, 1) == 0)) and len(np.unique(values)) <= MAX_CATEGORIES_AS_NUMBERS
    )
