"""The BentoML service inside every bento model-deployer builds.

It is copied into the bento beside ``deployment_manifest.json``, which names the model, its
version, stage, bento tag, the BentoML model holding the MLflow model, and the signature's
columns. Routes: ``POST /predict`` (DESIGN.md section 6 body) and ``GET /model_info``; BentoML
adds ``/readyz``, ``/livez`` and ``/healthz``. Malformed bodies get 422 with a message.

Answers carry ``deployment_id`` (from ``DEPLOYER_DEPLOYMENT_ID``, set by the endpoint manager),
so the gateway can pass them through without parsing them.

Fault injection, for drills and the fault tests (never set by default): with
``DEPLOYER_FAULT_ERROR_RATE=0.2`` exactly one request in five answers 500 (spread evenly, not at
random), and ``DEPLOYER_FAULT_LATENCY_MS=50`` adds 50 ms to every prediction. Those are read at
start; ``DEPLOYER_FAULT_FILE`` names a JSON file (``{"error_rate": 0.5, "latency_ms": 20}``)
read again within a second of each change, whose values then hold instead: a drill can make a
running endpoint start failing (a release that goes bad after it completed).

This file runs inside ``bentoml serve`` and imports only what a served bento has.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import bentoml
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

MANIFEST: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "deployment_manifest.json").read_text()
)
app = FastAPI(title=f"{MANIFEST['model_name']} v{MANIFEST['model_version']}")
DEPLOYMENT_ID = os.environ.get("DEPLOYER_DEPLOYMENT_ID")
FAULT_ERROR_RATE = min(1.0, max(0.0, float(os.environ.get("DEPLOYER_FAULT_ERROR_RATE") or 0)))
FAULT_LATENCY_S = max(0.0, float(os.environ.get("DEPLOYER_FAULT_LATENCY_MS") or 0)) / 1000
FAULT_FILE = os.environ.get("DEPLOYER_FAULT_FILE") or None
FAULT_FILE_EVERY_S = 1.0


class _Drill:
    """The fault drill in force: the start-up variables, or the fault file's values once it
    exists (looked at no more than once a second; a file that cannot be read changes nothing)."""

    error_rate = FAULT_ERROR_RATE
    latency_s = FAULT_LATENCY_S
    looked_at = 0.0
    stamp: float | None = None

    @classmethod
    def current(cls) -> tuple[float, float]:
        if FAULT_FILE is None:
            return cls.error_rate, cls.latency_s
        now = time.monotonic()
        if now - cls.looked_at >= FAULT_FILE_EVERY_S:
            cls.looked_at = now
            cls._reload(Path(FAULT_FILE))
        return cls.error_rate, cls.latency_s

    @classmethod
    def _reload(cls, path: Path) -> None:
        try:
            stamp = path.stat().st_mtime
            if stamp == cls.stamp:
                return
            values = json.loads(path.read_text())
            rate = min(1.0, max(0.0, float(values.get("error_rate") or 0)))
            latency = max(0.0, float(values.get("latency_ms") or 0)) / 1000
        except (OSError, ValueError, TypeError, AttributeError):
            return
        cls.stamp, cls.error_rate, cls.latency_s = stamp, rate, latency


class _Faults:
    """Error diffusion: after n requests, exactly floor(n * rate) have failed."""

    seen = 0
    failed = 0

    @classmethod
    def should_fail(cls, rate: float) -> bool:
        if rate <= 0:
            return False
        cls.seen += 1
        if math.floor(cls.seen * rate + 1e-9) > cls.failed:
            cls.failed += 1
            return True
        return False


class BadRequest(Exception):
    """A request body of the wrong shape; answered with 422."""


def _load(model_dir: Path) -> tuple[Any, Any]:
    """Load the MLflow model (the sklearn flavour when present: faster to call) and the
    optional preprocessing step."""
    import mlflow.pyfunc

    mlmodel = (model_dir / "mlflow_model" / "MLmodel").read_text()
    if "sklearn:" in mlmodel:
        import mlflow.sklearn

        model = mlflow.sklearn.load_model(str(model_dir / "mlflow_model"))
    else:
        model = mlflow.pyfunc.load_model(str(model_dir / "mlflow_model"))
    pre = model_dir / "preprocessing.joblib"
    if pre.exists():
        import joblib

        return model, joblib.load(pre)
    return model, None


def to_matrix(body: Any, columns: list[str]) -> np.ndarray:
    """Rows as lists in column order, or as dicts by column name, into a float matrix."""
    if not isinstance(body, dict) or "instances" not in body:
        raise BadRequest('the body must be a JSON object with "instances": [...]')
    rows = body["instances"]
    if not isinstance(rows, list) or not rows:
        raise BadRequest('"instances" must be a non-empty list of rows')
    width = len(columns) if columns else None
    matrix = []
    for i, row in enumerate(rows):
        if isinstance(row, dict):
            missing = [c for c in columns if c not in row]
            unknown = [k for k in row if k not in columns]
            if missing or unknown:
                raise BadRequest(f"row {i}: missing columns {missing}, unknown columns {unknown}")
            row = [row[c] for c in columns]
        if not isinstance(row, list):
            raise BadRequest(f"row {i} must be a list of numbers or an object by column name")
        if width is not None and len(row) != width:
            raise BadRequest(f"row {i} has {len(row)} values; the model takes {width}: {columns}")
        width = len(row)
        matrix.append([_number(v, i) for v in row])
    return np.asarray(matrix, dtype=float)


def _number(value: Any, row: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest(f"row {row}: {value!r} is not a finite number")
    return float(value)


def _json_native(values: Any) -> list[Any]:
    return [v.item() if hasattr(v, "item") else v for v in np.asarray(values).tolist()]


@bentoml.asgi_app(app, path="/")
@bentoml.service(
    name=MANIFEST["service_name"], workers=int(os.environ.get("DEPLOYER_WORKERS", "1"))
)
class ModelService:
    """One model version, loaded once at start-up."""

    def __init__(self) -> None:
        model = bentoml.models.get(MANIFEST["bento_model_tag"])
        self.model, self.preprocess = _load(Path(model.path))
        self.columns: list[str] = list(MANIFEST.get("columns") or [])

    def predict_rows(self, matrix: np.ndarray) -> list[Any]:
        features: Any = matrix
        if self.columns:
            import pandas as pd

            features = pd.DataFrame(matrix, columns=self.columns)
        if self.preprocess is not None:
            features = self.preprocess.transform(features)
        return _json_native(self.model.predict(features))

    @app.post("/predict")
    async def predict(self, request: Request) -> JSONResponse:
        rate, latency = _Drill.current()
        if latency:
            await asyncio.sleep(latency)
        if _Faults.should_fail(rate):
            return JSONResponse({"error": "injected fault"}, status_code=500)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=422)
        try:
            predictions = self.predict_rows(to_matrix(body, self.columns))
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse(
            {
                "predictions": predictions,
                "model_name": MANIFEST["model_name"],
                "model_version": MANIFEST["model_version"],
                "deployment_id": DEPLOYMENT_ID,
            }
        )

    @app.get("/model_info")
    async def model_info(self) -> dict[str, Any]:
        keys = ("model_name", "model_version", "stage", "bento_tag", "columns", "created_at")
        return {k: MANIFEST.get(k) for k in keys}
