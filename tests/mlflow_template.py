"""An empty MLflow store, migrated once per test session, copied into a test's home.

A fresh SQLite MLflow store runs MLflow's own ~50 Alembic migrations when it is first opened:
3-4 s of CPU in memory, 8-10 s on this CI machine's disk, paid by every home a test makes
(``deployer init``, or the first ``train_and_log``). Where the store's creation is set-up and not
the subject, a fixture calls ``seed_mlflow_store`` before anything opens the store: the copy is
the very file MLflow would have made (made by MLflow itself, in a process of its own with the
same working folder, so even the default experiment's location is the same). Tests of ``deployer
init`` itself (tests/e2e/test_cli_init_status.py) do not seed.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_MAKE = """
import sys
from mlflow import MlflowClient
MlflowClient(tracking_uri=sys.argv[1]).search_registered_models()
"""
_template: Path | None = None


def seed_mlflow_store(store: str | Path) -> None:
    """Copy the migrated empty store to ``store`` (a path, or a ``sqlite:///`` tracking URI)
    unless something is there already; any other URI (an MLflow server) is left alone."""
    if isinstance(store, str):
        if not store.startswith("sqlite:///"):
            return
        store = Path(store.removeprefix("sqlite:///"))
    if store.exists():
        return
    store.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_made(), store)


def _made() -> Path:
    """The template store, made by MLflow on first use in this session."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="deployer-mlflow-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        made = folder / "mlflow.db"
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
        env.pop("MLFLOW_TRACKING_URI", None)
        subprocess.run(
            [sys.executable, "-c", _MAKE, f"sqlite:///{made}"], env=env, check=True, timeout=300
        )
        _template = made
    return _template
