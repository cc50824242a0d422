"""The drift decision: pure functions over per-column statistics computed elsewhere.

Each column (a feature, or the model's output) comes with a two-sample test's p-value
(Kolmogorov-Smirnov for numbers, chi-square for categories) and an effect size (the population
stability index, PSI), measured on the reference sample against the current window. The decision:

- a column with fewer than ``min_samples`` rows on either side is ``inconclusive``: too little
  data is never "no drift";
- the p-values of the columns that have enough rows are corrected for testing many columns at
  once with Holm's step-down method (it controls the family-wise error rate, so a model with
  thirty features does not raise an alarm a day by chance, and unlike Bonferroni it loses little
  power);
- a column drifts only when BOTH its corrected p-value is below ``alpha`` AND its effect size is
  at least ``psi_threshold``: on large samples a p-value flags shifts too small to matter, and
  on small ones a large PSI can be noise;
- the check drifts when any column drifts; else it is inconclusive when any input column is (or
  there is nothing to judge); else no drift. The output column (prediction drift) is judged
  like the others but, lacking a baseline, does not make the check inconclusive
  (``_unknown_feature``).

``is_new_drift`` says whether a verdict is news (an alert) or the same ongoing drift.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from lifecycle.errors import BadInputError


class DriftVerdict(StrEnum):
    """What a check says about a column, or about the whole model."""

    DRIFT = "drift"  # the test and the effect size both say the distribution moved
    NO_DRIFT = "no_drift"  # enough data, and no column moved by both measures
    INCONCLUSIVE = "inconclusive"  # too few rows to tell: never read as "no drift"


@dataclass(frozen=True, slots=True)
class ColumnStatistic:
    """A column's test on the reference against the current window (computed elsewhere)."""

    name: str
    kind: str
    """``numeric`` (KS test) or ``categorical`` (chi-square test)."""
    statistic: float
    p_value: float
    psi: float
    reference_rows: int
    current_rows: int
    role: str = "feature"
    """``feature`` (an input column) or ``output`` (the model's prediction)."""
    wasserstein: float | None = None
    """For numbers, the Wasserstein distance divided by the reference's standard deviation
    (shown beside the PSI; the PSI is the effect size the verdict uses)."""


@dataclass(frozen=True, slots=True)
class DriftPolicy:
    """The thresholds a check is judged by (``DEPLOYER_DRIFT_*`` settings)."""

    alpha: float = 0.05
    psi_threshold: float = 0.2
    min_samples: int = 100

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise BadInputError(f"the drift alpha must be between 0 and 1, not {self.alpha}")
        if not (math.isfinite(self.psi_threshold) and self.psi_threshold > 0):
            raise BadInputError(
                f"the drift PSI threshold must be a positive number, not {self.psi_threshold}"
            )
        if self.min_samples < 1:
            raise BadInputError(
                f"the drift minimum sample size must be at least 1, not {self.min_samples}"
            )


@dataclass(frozen=True, slots=True)
class ColumnVerdict:
    """One column judged: its statistic, the corrected p-value, the verdict and why."""

    column: ColumnStatistic
    adjusted_p_value: float | None
    verdict: DriftVerdict
    reason: str


@dataclass(frozen=True, slots=True)
class DriftReport:
    """A whole check: the model's verdict, each column's, the drifted columns and a summary."""

    verdict: DriftVerdict
    columns: tuple[ColumnVerdict, ...]
    drifted: tuple[str, ...]
    summary: str


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (monotone, capped at 1)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted: dict[int, float] = {}
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return [adjusted[i] for i in range(len(p_values))]


def judge_column(
    column: ColumnStatistic, adjusted: float | None, policy: DriftPolicy
) -> ColumnVerdict:
    """One column's verdict from its corrected p-value and its PSI (module docstring)."""
    if adjusted is None:
        reason = (
            f"{column.current_rows} current and {column.reference_rows} reference rows; "
            f"at least {policy.min_samples} of each are needed"
        )
        return ColumnVerdict(column, None, DriftVerdict.INCONCLUSIVE, reason)
    tested = adjusted < policy.alpha
    large = column.psi >= policy.psi_threshold
    p_text = f"p={adjusted:.3g} {'<' if tested else '>='} {policy.alpha}"
    psi_text = f"PSI={column.psi:.3f} {'>=' if large else '<'} {policy.psi_threshold}"
    verdict = DriftVerdict.DRIFT if tested and large else DriftVerdict.NO_DRIFT
    return ColumnVerdict(column, adjusted, verdict, f"{p_text}, {psi_text}")


def judge_drift(columns: Sequence[ColumnStatistic], policy: DriftPolicy) -> DriftReport:
    """Judge every column (Holm-corrected over those with enough rows) and the model."""
    enough = [
        i
        for i, col in enumerate(columns)
        if min(col.reference_rows, col.current_rows) >= policy.min_samples
    ]
    corrected = holm([columns[i].p_value for i in enough])
    adjusted = {index: corrected[k] for k, index in enumerate(enough)}
    judged = tuple(judge_column(col, adjusted.get(i), policy) for i, col in enumerate(columns))
    drifted = tuple(v.column.name for v in judged if v.verdict is DriftVerdict.DRIFT)
    if drifted:
        verdict = DriftVerdict.DRIFT
    elif not judged or any(_unknown_feature(v) for v in judged):
        verdict = DriftVerdict.INCONCLUSIVE
    else:
        verdict = DriftVerdict.NO_DRIFT
    return DriftReport(verdict, judged, drifted, summarize(verdict, judged, drifted))


def _unknown_feature(judged: ColumnVerdict) -> bool:
    """An input column too small to judge. The output's baseline (the version's earlier
    captured answers) arrives only after a window in production, so an output column alone
    never makes the check inconclusive; it can only add drift."""
    return judged.column.role != "output" and judged.verdict is DriftVerdict.INCONCLUSIVE


def summarize(
    verdict: DriftVerdict, judged: Sequence[ColumnVerdict], drifted: Sequence[str]
) -> str:
    """The check in one line."""
    if verdict is DriftVerdict.DRIFT:
        return f"drift in {len(drifted)} of {len(judged)} columns: {', '.join(drifted)}"
    if not judged:
        return "inconclusive: nothing to compare"
    if verdict is DriftVerdict.INCONCLUSIVE:
        few = [v.column.name for v in judged if _unknown_feature(v)]
        return f"inconclusive: too few rows for {', '.join(few)}"
    quiet = [v for v in judged if v.verdict is DriftVerdict.NO_DRIFT]
    waiting = len(judged) - len(quiet)  # an output column without a baseline yet
    return f"no drift in {len(quiet)} column{'' if len(quiet) == 1 else 's'}" + (
        "; the output has no baseline yet" if waiting else ""
    )


def is_new_drift(previous: tuple[str, ...] | None, report: DriftReport) -> bool:
    """Whether ``report`` is news: a drift verdict after none (``previous`` is the last check's
    drifted columns, ``None`` when there was no check), or one that adds a column. An ongoing
    drift on the same columns raises no second alert."""
    if report.verdict is not DriftVerdict.DRIFT:
        return False
    return not set(report.drifted) <= set(previous or ())
