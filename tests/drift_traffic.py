"""Served traffic for the drift test (``tests/integration/test_gateway.py``): iris rows drawn
from the training data, one feature shifted or none, sent through the real gateway with capture
at 100% (the ``deployer capture enable`` handler), so the rows the check reads are the ones the
gateway captured: the real bodies, answers, versions and capture times.

The captured rows carry real times, so the phases are sent one after another and each is judged
over a window that covers exactly its own requests: from just before it was sent to just after
the gateway's batched flush wrote its last row (waited for by polling the database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import numpy as np

from agents.bootstrap import Container
from agents.handlers.capture import set_capture_percent
from database.models_watch import PredictionRow
from lifecycle.records import utcnow
from tests.gateway_stack import MODEL, wait_for

Send = Callable[[str, list[dict[str, Any]]], Sequence[Any]]


def draw(train: Any, n: int, seed: int, shift: dict[int, float] | None = None) -> list[list[float]]:
    """``n`` rows drawn with replacement from the training features; column i moved by
    ``shift[i]``."""
    values = np.asarray(train.values, dtype=float)
    rows = values[np.random.default_rng(seed).integers(0, len(values), n)]
    for column, by in (shift or {}).items():
        rows[:, column] += by
    return [[round(float(v), 3) for v in row] for row in rows]


def gateway_percent(url: str) -> float:
    health = httpx.get(f"{url}/healthz", timeout=5, trust_env=False).json()["capture"]
    return float(health["percents"].get(MODEL, 0.0))


@contextmanager
def capturing(c: Container, url: str) -> Iterator[None]:
    """Capture at 100% while inside (once the gateway applies it); off again after."""
    set_capture_percent(c, MODEL, 100, "tester")
    try:
        assert wait_for(lambda: gateway_percent(url) == 100.0, 10)
        yield
    finally:
        set_capture_percent(c, MODEL, 0, "tester")
        assert wait_for(lambda: gateway_percent(url) == 0.0, 10)


def captured_count(c: Container) -> int:
    from sqlalchemy import func, select

    with c.reader() as uow:
        query = select(func.count()).where(PredictionRow.model_name == MODEL)
        return int(uow.session.scalar(query) or 0)


def serve(
    c: Container, send: Send, url: str, rows: list[list[float]], per_request: int = 10
) -> tuple[datetime, datetime]:
    """Send ``rows`` through the gateway, ``per_request`` per body, and wait until its flush
    has stored every answered request; returns the window ``[start, end)`` they fall in."""
    bodies = [{"instances": rows[i : i + per_request]} for i in range(0, len(rows), per_request)]
    expected = captured_count(c) + len(bodies)
    start = utcnow()
    answers = send(url, bodies)
    assert all(a.status == 200 for a in answers), answers
    assert wait_for(lambda: captured_count(c) >= expected, 15)
    assert captured_count(c) == expected  # every request captured once
    return start, utcnow()


def check_phases(stack: Any, send: Send, url: str) -> dict[str, Any]:
    """Serve the phases with capture on and judge each phase's window; the watcher's hook
    records the shifted phase twice (one ``drift_detected`` only). Routes stay at v1=100."""
    from sqlalchemy import func, select

    from agents.entrypoints.chat.chat import answer
    from agents.handlers.drift_checks import record_drift_checks
    from agents.handlers.references import store_reference
    from agents.queries.drift import drift_report_at
    from database.models import AuditEventRow
    from database.models_drift import DriftCheckRow
    from mlops.reference_data import to_sample

    c, train = stack.container, stack.models["1"].train
    with c.uow() as uow:
        store_reference(uow, MODEL, "1", to_sample(train.copy(), "test:train", 5000, None), "t")
        uow.commit()
    phases = {  # name: rows; the baseline is served first and judged in no window
        "baseline": draw(train, 300, 1),
        "shifted": draw(train, 300, 2, {2: 3.0}),
        "too_few": draw(train, 50, 3),
        "none": draw(train, 300, 4),
    }
    out: dict[str, Any] = {}
    ends: dict[str, datetime] = {}
    with capturing(c, url):
        for name, rows in phases.items():
            start, ends[name] = serve(c, send, url, rows)
            if name != "baseline":
                seconds = (ends[name] - start).total_seconds()
                out[name] = summary(drift_report_at(c, MODEL, seconds, ends[name]))
    for _ in range(2):  # two watch ticks ending with the shifted phase
        record_drift_checks(c, "watcher", MODEL, ends["shifted"])
    with c.reader() as uow:
        rows_written = uow.session.scalar(select(func.count()).select_from(DriftCheckRow))
        alerts = uow.session.scalar(
            select(func.count()).where(AuditEventRow.action == "drift_detected")
        )
    out["watch"] = {"rows": rows_written, "drift_detected": alerts}
    out["chat"] = answer(c, "is iris drifting?", "tester").reply  # the last hour: every phase
    return out


def summary(report: dict[str, Any]) -> dict[str, Any]:
    features = [c for c in report["columns"] if c["role"] == "feature"]
    output = [c for c in report["columns"] if c["role"] == "output"]
    return {
        "verdict": report["verdict"],
        "drifted_features": [c["name"] for c in features if c["verdict"] == "drift"],
        "output_verdict": output[0]["verdict"],
        "rows": report["current_rows"],
    }
