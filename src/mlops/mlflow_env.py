"""MLflow process settings: no telemetry, quiet logs, and a tracking URI scoped to one call."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "BENTOML_DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    # MLflow's HTTP client otherwise retries a refused connection for minutes before failing.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def quiet() -> None:
    """Turn off telemetry and chatty logs for MLflow in this process and its children."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def tracking(uri: str) -> Iterator[None]:
    """Point MLflow's fluent API at ``uri`` for the duration of the block, then restore it."""
    import mlflow

    quiet()
    # set_tracking_uri also exports MLFLOW_TRACKING_URI to the environment (for children);
    # restore exactly what was there, or a later subprocess would inherit our store.
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]  # None unsets, as documented
