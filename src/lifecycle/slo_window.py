"""The trailing window and baseline of a deployment's service levels, from counter samples.

Gateways keep cumulative counters per deployment (``RequestCounts``); each tick samples them.
The window's figures are the counters now less the newest sample taken at least ``window``
seconds ago (all the counts, before any such sample), and the baseline's are that sample less
the newest one taken ``baseline`` seconds before it. Samples are thinned as they are kept: at
most one per tenth of the window, none older than the baseline needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lifecycle.latency import RequestCounts

MAX_SAMPLES = 240


@dataclass(frozen=True, slots=True)
class Sample:
    """The cumulative counters of one deployment at one time."""

    at: datetime
    counts: RequestCounts

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"at": self.at.isoformat(), "counts": self.counts.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sample:
        """The sample a ``to_json`` value describes."""
        return cls(datetime.fromisoformat(str(data["at"])), RequestCounts.from_json(data["counts"]))


@dataclass(frozen=True, slots=True)
class Periods:
    """The window's counts and the baseline's (None: no sample old enough yet)."""

    window: RequestCounts
    baseline: RequestCounts | None


def periods(
    samples: Sequence[Sample],
    now_counts: RequestCounts,
    now: datetime,
    window: float,
    baseline: float,
) -> Periods:
    """The window (``window`` seconds to ``now``) and its baseline (``baseline`` seconds before
    the window) from ``samples`` (oldest first) and the counters read ``now``."""
    start = _newest_at_or_before(samples, now - timedelta(seconds=window))
    if start is None:
        return Periods(now_counts, None)
    before = _newest_at_or_before(samples, start.at - timedelta(seconds=baseline))
    return Periods(
        now_counts.since(start.counts),
        start.counts.since(before.counts if before is not None else None),
    )


def kept(samples: Sequence[Sample], sample: Sample, window: float, baseline: float) -> list[Sample]:
    """``samples`` with ``sample`` (taken now) added when the newest is a tenth of the window
    old, and those no window or baseline will read again dropped (the newest of them stays)."""
    ordered = list(samples)
    if not ordered or (sample.at - ordered[-1].at).total_seconds() >= window / 10:
        ordered.append(sample)
    cutoff = sample.at - timedelta(seconds=window + baseline)
    old = [s for s in ordered if s.at < cutoff]
    recent = [s for s in ordered if s.at >= cutoff]
    return (old[-1:] + recent)[-MAX_SAMPLES:]


def _newest_at_or_before(samples: Sequence[Sample], moment: datetime) -> Sample | None:
    found = None
    for sample in samples:
        if sample.at <= moment:
            found = sample
    return found
