"""Served traffic for the drift test (``tests/integration/test_gateway.py``): iris rows drawn
from the training data, one feature shifted or none, sent through the real gateway, and the
served requests written to ``predictions`` with the real answers at chosen capture times.

TODO(integrator): once the capture part is merged, enable capture at 100% for the model
(``deployer capture enable iris --percent 100``) and wait for the gateway's flush instead of
``capture``; the captured rows carry real times, so give ``run_check`` a ``now`` and window that
cover each phase (or send the phases at least a window apart)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from agents.bootstrap import Container
from database.models_watch import PredictionRow

Send = Callable[[str, list[dict[str, Any]]], Sequence[Any]]


def draw(train: Any, n: int, seed: int, shift: dict[int, float] | None = None) -> list[list[float]]:
    """``n`` rows drawn with replacement from the training features; column i moved by
    ``shift[i]``."""
    values = np.asarray(train.values, dtype=float)
    rows = values[np.random.default_rng(seed).integers(0, len(values), n)]
    for column, by in (shift or {}).items():
        rows[:, column] += by
    return [[round(float(v), 3) for v in row] for row in rows]


def serve_and_capture(
    c: Container,
    send: Send,
    url: str,
    versions: dict[str, str],
    rows: list[list[float]],
    at: datetime,
    per_request: int = 10,
) -> int:
    """Send ``rows`` through the gateway, ``per_request`` per body; record each answered request
    as captured at ``at`` (inputs as sent, output as answered, the version of the deployment
    that answered: ``versions`` maps deployment ids to versions). Returns the requests sent."""
    bodies = [{"instances": rows[i : i + per_request]} for i in range(0, len(rows), per_request)]
    answers = send(url, bodies)
    with c.uow() as uow:
        for body, answer in zip(bodies, answers, strict=True):
            assert answer.status == 200, answer
            uow.session.add(
                PredictionRow(
                    request_id=str(uuid.uuid4()),
                    model_name="iris",
                    version=versions[answer.deployment_id],
                    deployment_id=answer.deployment_id,
                    captured_at=at,
                    latency_ms=answer.ms,
                    status=answer.status,
                    inputs=body,
                    output={"predictions": answer.predictions},
                    gateway="test",
                )
            )
        uow.commit()
    return len(answers)


def check_phases(stack: Any, send: Send, url: str) -> dict[str, Any]:
    """Serve the phases at chosen capture times and judge each window; the watcher's hook
    records the shifted window twice (one ``drift_detected`` only). Routes stay at v1=100."""
    from sqlalchemy import func, select

    from agents.entrypoints.chat.chat import answer
    from agents.handlers.drift_checks import record_drift_checks
    from agents.handlers.references import store_reference
    from agents.queries.drift import drift_report_at
    from database.models import AuditEventRow
    from database.models_drift import DriftCheckRow
    from lifecycle.records import utcnow
    from mlops.reference_data import to_sample

    c, train = stack.container, stack.models["1"].train
    versions = {stack.deployments["v1"]: "1", stack.deployments["v2"]: "2"}
    with c.uow() as uow:
        store_reference(uow, "iris", "1", to_sample(train.copy(), "test:train", 5000, None), "t")
        uow.commit()
    now, hour, minute = utcnow(), timedelta(hours=1), timedelta(minutes=1)
    phases = {  # name: (rows, captured at, judged at, window)
        "baseline": (draw(train, 300, 1), now - 3 * hour, None, None),
        "shifted": (draw(train, 300, 2, {2: 3.0}), now - 90 * minute, now - hour, hour),
        "too_few": (draw(train, 50, 3), now - 30 * minute, now - 20 * minute, 15 * minute),
        "none": (draw(train, 300, 4), now - 10 * minute, now, 15 * minute),
    }
    out: dict[str, Any] = {}
    for name, (rows, at, judged_at, window) in phases.items():
        serve_and_capture(c, send, url, versions, rows, at)
        if judged_at is not None:
            out[name] = summary(drift_report_at(c, "iris", window.total_seconds(), judged_at))
    for _ in range(2):  # two watch ticks over the shifted window
        record_drift_checks(c, "watcher", "iris", now - hour)
    with c.reader() as uow:
        rows_written = uow.session.scalar(select(func.count()).select_from(DriftCheckRow))
        alerts = uow.session.scalar(
            select(func.count()).where(AuditEventRow.action == "drift_detected")
        )
    out["watch"] = {"rows": rows_written, "drift_detected": alerts}
    out["chat"] = answer(c, "is iris drifting?", "tester").reply  # the last hour: no shift
    return out


def summary(report: dict[str, Any]) -> dict[str, Any]:
    features = [c for c in report["columns"] if c["role"] == "feature"]
    output = [c for c in report["columns"] if c["role"] == "output"]
    return {
        "verdict": report["verdict"],
        "drifted_features": [c["name"] for c in features if c["verdict"] == "drift"],
        "output_verdict": output[0]["verdict"],
    }
