"""Local endpoints: one detached ``bentoml serve`` process per deployment, supervised by PID.

This is the embedded target behind the ``EndpointManager`` port. Another target (Kubernetes,
a paper-trading sandbox, a cloud endpoint) is one more class with the same four methods:
``create``, ``is_alive``, ``process_alive`` and ``remove``.

Servers start in their own session (``start_new_session``) so they outlive the CLI call that
started them. Each carries ``DEPLOYER_DEPLOYMENT_ID`` and its ``BENTOML_HOME`` in its
environment, which its workers inherit: that is how a PID is known to be ours (its command line
is not: with ``setproctitle`` installed, BentoML's circus arbiter renames itself ``circusd``),
and how ``remove`` finds workers that a crashed parent orphaned.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from lifecycle.errors import BadInputError, EndpointCreationError, PortInUseError
from lifecycle.ports import Endpoint
from mlops.mlflow_env import QUIET_ENV
from mlops.processes import (
    alive,
    environ_of_pid,
    find_by_env,
    free_port,
    pid_matches,
    port_in_use,
    tail,
    terminate_tree,
    wait_http_ok,
)

HOST = "127.0.0.1"
PASSED_ENV = frozenset(
    {"PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "USER", "LOGNAME", "LD_LIBRARY_PATH"}
)
"""What a model server keeps of the caller's environment (besides ``LC_*``): what a Python
process needs to run, nothing that grants access (no token, no database or MLflow URL)."""
DRILL_ENV = frozenset(
    {"DEPLOYER_FAULT_ERROR_RATE", "DEPLOYER_FAULT_LATENCY_MS", "DEPLOYER_FAULT_FILE"}
)
"""The service's fault drills (``bento_service/service.py``), passed on when the caller sets
them."""
# BentoML keeps restarting a worker whose start-up failed; this line in the log says it did.
STARTUP_FAILED = b"Application startup failed"


class LocalEndpointManager:
    """Starts and stops ``bentoml serve`` processes for the bentos of one BentoML home."""

    def __init__(self, bentoml_home: Path, log_dir: Path, ready_timeout: float = 90.0) -> None:
        self.bentoml_home = bentoml_home
        self.log_dir = log_dir
        self.ready_timeout = ready_timeout

    def log_path(self, deployment_id: str) -> Path:
        return self.log_dir / f"{deployment_id}.log"

    def private_home(self, deployment_id: str) -> Path:
        """The server's own empty ``HOME`` and working folder (0700), outside the deployer's
        home folder's files: a relative path in model code reaches none of them."""
        home = self._server_dir(deployment_id)
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        home.chmod(0o700)
        return home

    def create(
        self,
        deployment_id: str,
        bento_tag: str,
        workers: int = 1,
        port: int | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> Endpoint:
        """Start a server for ``bento_tag`` and wait until it is ready, or raise and leave none.

        ``extra_env`` reaches the server (e.g. the service's ``DEPLOYER_FAULT_*`` drills)."""
        if port is not None and port_in_use(port, HOST):
            raise PortInUseError(f"port {port} on {HOST} is already in use; pick another")
        port = port or free_port(HOST)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path(deployment_id)
        offset = log.stat().st_size if log.exists() else 0
        home = self.private_home(deployment_id)
        env = server_env(self.bentoml_home, deployment_id, workers, home, extra_env)
        command = [
            sys.executable,
            "-m",
            "bentoml",
            "serve",
            bento_tag,
            "--host",
            HOST,
            "--port",
            str(port),
        ]
        with log.open("ab") as out:
            proc = subprocess.Popen(
                command,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
                cwd=home,
            )
        endpoint = Endpoint(deployment_id, f"http://{HOST}:{port}", port, proc.pid)
        ready = wait_http_ok(
            f"{endpoint.url}/readyz",
            self.ready_timeout,
            lambda: proc.poll() is None and not _startup_failed(log, offset),
        )
        if not ready:
            exited = proc.poll()
            self.remove(endpoint)
            proc.wait(timeout=10)
            if exited is not None:
                why = f"exited with code {exited}"
            elif _startup_failed(log, offset):
                why = "failed to start (the model did not load)"
            else:
                why = f"was not ready within {self.ready_timeout:g} s"
            raise EndpointCreationError(
                f"the server for {bento_tag} {why}; last log lines follow", tail(log, 20)
            )
        return endpoint

    def is_alive(self, endpoint: Endpoint) -> bool:
        """Whether our server still runs under that PID and answers ``/readyz``."""
        if not self.process_alive(endpoint):
            return False
        return wait_http_ok(f"{endpoint.url}/readyz", timeout=2.0)

    def process_alive(self, endpoint: Endpoint) -> bool:
        """The cheap check: the process is ours and runs (no HTTP call)."""
        return self._owns(endpoint)

    def remove(self, endpoint: Endpoint) -> None:
        """Stop the server and every worker it started (idempotent: gone is fine)."""
        owned = endpoint.pid if self._owns(endpoint) else None
        marked = find_by_env(
            DEPLOYER_DEPLOYMENT_ID=endpoint.deployment_id, BENTOML_HOME=str(self.bentoml_home)
        )
        terminate_tree(owned, extra=marked)
        shutil.rmtree(self._server_dir(endpoint.deployment_id), ignore_errors=True)

    def _server_dir(self, deployment_id: str) -> Path:
        folder = self.bentoml_home / "servers"
        path = folder / deployment_id
        if path.parent != folder or deployment_id in ("", ".", ".."):
            raise BadInputError(f"invalid deployment id {deployment_id!r}")
        return path

    def _owns(self, endpoint: Endpoint) -> bool:
        """Whether ``endpoint.pid`` runs this endpoint's server (guards against PID reuse): its
        environment names the deployment and this home, or (a server started before
        ``SPT_NOENV``) its command line is still ``bentoml serve`` on the endpoint's port.

        One read of ``/proc`` for a server (a monitoring tick makes one check per endpoint):
        a gone process's environment cannot be read, and a zombie's is empty, so it is not
        ours."""
        if not endpoint.pid:
            return False
        env = environ_of_pid(endpoint.pid)
        if env is None:
            return False
        ours = {
            "DEPLOYER_DEPLOYMENT_ID": endpoint.deployment_id,
            "BENTOML_HOME": str(self.bentoml_home),
        }
        if all(env.get(key) == value for key, value in ours.items()):
            return True
        return pid_matches(endpoint.pid, "bentoml", "serve", str(endpoint.port))


def server_env(
    bentoml_home: Path,
    deployment_id: str,
    workers: int,
    home: Path,
    extra_env: Mapping[str, str] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """The whole environment of a model server: an allow-list of ``environ`` (``PASSED_ENV``,
    ``LC_*``, the fault drills), telemetry off, its private ``HOME`` and the markers it is
    recognised by. Never a ``DEPLOYER_*`` setting or token, a database or an MLflow URL."""
    kept = {
        key: value
        for key, value in environ.items()
        if key in PASSED_ENV or key in DRILL_ENV or key.startswith("LC_")
    }
    return {
        **kept,
        **QUIET_ENV,
        "HOME": str(home),
        "BENTOML_HOME": str(bentoml_home),
        "DEPLOYER_WORKERS": str(max(1, workers)),
        "DEPLOYER_DEPLOYMENT_ID": deployment_id,
        # setproctitle (when installed) would otherwise blank /proc/PID/environ as it renames
        # the arbiter, and the environment is how this PID is known to be ours.
        "SPT_NOENV": "1",
        **{k: v for k, v in (extra_env or {}).items() if k in DRILL_ENV},
    }


def _startup_failed(log: Path, offset: int) -> bool:
    try:
        with log.open("rb") as handle:
            handle.seek(offset)
            return STARTUP_FAILED in handle.read()
    except OSError:
        return False


__all__ = ["LocalEndpointManager", "PortInUseError", "alive"]
