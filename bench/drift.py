"""Drift-check benchmark: one 10-feature check over 10,000 captured rows (issue 14: at most 1 s).

A fresh state DB (SQLite in a temporary folder, or ``--database-url``) gets a 5,000-row
reference and 10,000 captured predictions (one row each, as the gateway captures them; the
tenth feature shifted by half a standard deviation). Each round times the parts of a check:
reading the reference and the window from the DB, the statistics (KS, chi-square, PSI,
Wasserstein per column), and the decision; it prints the medians and which part dominates.
It asserts nothing.

    .venv/bin/python bench/drift.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from database import migrate
from database.drift import DriftRepository
from database.engine import make_engine, make_session_factory
from database.models_drift import ReferenceSampleRow
from database.models_watch import PredictionRow
from lifecycle.drift import DriftPolicy, judge_drift
from lifecycle.records import utcnow
from mlops.drift_stats import column_statistic, frame_statistics

FEATURES = [f"f{i}" for i in range(10)]


def populate(factory: Any, rows: int, reference_rows: int) -> None:
    rng = np.random.default_rng(14)
    now = utcnow()
    current = rng.normal(0, 1, (rows, len(FEATURES)))
    current[:, -1] += 0.5
    with factory() as session:
        session.add(
            ReferenceSampleRow(
                model_version_id="bench/1",
                model_name="bench",
                version="1",
                source="bench",
                columns=FEATURES,
                rows=rng.normal(0, 1, (reference_rows, len(FEATURES))).round(4).tolist(),
                row_count=reference_rows,
                source_rows=reference_rows,
                created_by="bench",
                created_at=now,
            )
        )
        for i, row in enumerate(current.round(4).tolist()):
            session.add(
                PredictionRow(
                    request_id=uuid.uuid4().hex,
                    model_name="bench",
                    version="1",
                    deployment_id="bench-v1-00000000",
                    captured_at=now - timedelta(seconds=rows - i),
                    latency_ms=1.0,
                    status=200,
                    inputs={"instances": [row]},
                    output={"predictions": [int(row[0] > 0)]},
                    gateway="bench",
                )
            )
        session.commit()


def one_check(factory: Any, window_seconds: float) -> dict[str, float]:
    times: dict[str, float] = {}
    start = time.perf_counter()
    with factory() as session:
        drift = DriftRepository(session)
        reference = drift.reference("bench/1")
        assert reference is not None
        since = utcnow() - timedelta(seconds=window_seconds)
        current = drift.captured_rows("bench", "1", reference.columns, since)
    times["db_read"] = time.perf_counter() - start
    start = time.perf_counter()
    stats = frame_statistics(reference.columns, reference.rows, current.rows)
    stats.append(column_statistic("prediction", current.outputs[:5000], current.outputs, "output"))
    times["statistics"] = time.perf_counter() - start
    start = time.perf_counter()
    report = judge_drift(stats, DriftPolicy())
    times["decision"] = time.perf_counter() - start
    times["total"] = sum(times.values())
    times["rows"] = len(current.rows)
    times["drifted"] = float(len(report.drifted))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        populate(factory, args.rows, 5000)
        runs = [one_check(factory, args.rows + 60) for _ in range(args.rounds)]
        engine.dispose()
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"drift check: {len(FEATURES)} features + the output, {int(med['rows'])} captured rows,")
    print(f"5000 reference rows, {'SQLite' if not args.database_url else 'given DB'};")
    print(f"median of {args.rounds} rounds (2 noisy shared cores: read as an order of magnitude)")
    for part in ("db_read", "statistics", "decision", "total"):
        print(f"  {part:<11} {med[part] * 1000:8.1f} ms")
    parts = {p: med[p] for p in ("db_read", "statistics", "decision")}
    dominant = max(parts, key=lambda p: parts[p])
    print(f"  dominated by {dominant} ({parts[dominant] / med['total']:.0%} of the total)")
    print(f"  drifted columns found: {int(med['drifted'])} (f9, shifted by 0.5 sd)")


if __name__ == "__main__":
    main()
