"""Start and stop a real ``mlflow server`` for the tests, on a free port, by PID."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from mlops.mlflow_env import QUIET_ENV
from mlops.processes import free_port, tail, terminate_tree, wait_http_ok


@contextlib.contextmanager
def running_mlflow_server(root: Path) -> Iterator[str]:
    """Yield the tracking URI of a fresh MLflow server; stop its whole process tree after."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = root / "mlflow-server.log"
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'server.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=root,
            # No GenAI job runners: the registry is all the tests use, and MLflow would start
            # huey consumer processes and leave their store in a /dev/shm folder of its own
            # after every session (it never removes it).
            env={**os.environ, **QUIET_ENV, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_http_ok(f"{url}/health", 90, lambda: proc.poll() is None):
            raise RuntimeError("mlflow server did not start:\n" + "\n".join(tail(log, 30)))
        yield url
    finally:
        terminate_tree(proc.pid)
        proc.wait(timeout=10)
