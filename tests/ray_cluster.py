"""A real two-node Ray cluster for the tests: a head and a worker, each a ``ray start --block``
process in its own session, on free ports, with a small CPU count and object store, its temp
folder under the test's, telemetry off, and Serve's HTTP proxy on a free port of the head only.

Every process of the cluster (the two ``ray start`` processes, their raylets, GCS, agents, and
the workers and Serve actors they start) carries ``DEPLOYER_TEST_RAY_CLUSTER=<id>`` in its
environment: stopping kills both process groups and then anything still carrying the id, and
asserts nothing is left. No ``ray stop``: it would stop other sessions' clusters too.

Tests that need Ray skip when it is not installed, unless ``DEPLOYER_REQUIRE_RAY`` is set
(``scripts/test`` sets it): then they fail, as PostgreSQL's do.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from mlops.processes import find_by_env, free_port

CLUSTER_ENV = "DEPLOYER_TEST_RAY_CLUSTER"
NODE_CPUS = 2
OBJECT_STORE_BYTES = 100 * 1024**2
START_TIMEOUT = 180.0


def ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def require_ray() -> None:
    """Skip without Ray, unless the run requires it (CI), where its absence is a failure."""
    if ray_installed():
        return
    if os.environ.get("DEPLOYER_REQUIRE_RAY"):
        pytest.fail("DEPLOYER_REQUIRE_RAY is set but Ray is not installed (pip install .[ray])")
    pytest.skip("Ray is not installed (the [ray] extra)")


@dataclass
class RayCluster:
    """A running cluster: the GCS address, Serve's proxy URL, and its two ``ray start`` PIDs."""

    address: str
    serve_url: str
    cluster_id: str
    temp_dir: Path
    head: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes] | None = None
    started_seconds: float = 0.0
    logs: list[Path] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """The deployer settings that put a home's serving on this cluster."""
        return {
            "DEPLOYER_SERVING": "ray",
            "DEPLOYER_RAY_ADDRESS": self.address,
            "DEPLOYER_RAY_SERVE_URL": self.serve_url,
        }

    def processes(self) -> list[psutil.Process]:
        return find_by_env(**{CLUSTER_ENV: self.cluster_id})

    def memory_bytes(self) -> int:
        """Resident memory of every process of the cluster now."""
        total = 0
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def stop_worker(self) -> None:
        """Stop the worker node (its whole process group), as a machine that goes away."""
        if self.worker is not None:
            _kill_group(self.worker)
            self.worker = None

    def stop(self) -> None:
        self.stop_worker()
        _kill_group(self.head)
        deadline = time.monotonic() + 15
        while (left := self.processes()) and time.monotonic() < deadline:
            for proc in left:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            time.sleep(0.2)
        assert not self.processes(), f"Ray processes left behind: {self.processes()}"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _ray_start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    ray = str(Path(sys.executable).parent / "ray")
    with log.open("ab") as out:
        return subprocess.Popen(
            [ray, "start", "--block", "--disable-usage-stats", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _node_ports() -> list[str]:
    return [
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
    ]


def _wait_started(proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until ``ray start`` says its node runs (it prints that once the node registered
    with the GCS): reading its log costs nothing, where a probing driver costs seconds."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_bytes()[-3000:].decode(errors="replace") if log.exists() else ""
            raise RuntimeError(f"ray start exited with {proc.returncode}:\n{tail}")
        if log.exists() and b"Ray runtime started" in log.read_bytes():
            return
        time.sleep(0.25)
    raise RuntimeError(f"ray start did not start its node within {START_TIMEOUT:g} s: see {log}")


def _start_worker(
    address: str, common: list[str], env: dict[str, str], temp_dir: Path
) -> subprocess.Popen[bytes]:
    """The worker node; started again (new free ports) once if it exits at start: a port
    picked free can be taken by another process before Ray binds it."""
    for attempt in (1, 2):
        log = temp_dir / f"worker-{attempt}.log"
        worker = _ray_start([f"--address={address}", *common, *_node_ports()], env, log)
        try:
            _wait_started(worker, log)
            return worker
        except RuntimeError:
            _kill_group(worker)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def ray_cluster(base: Path | None = None, workers: int = 1) -> Iterator[RayCluster]:
    """Start a head (and a worker), yield the cluster, stop every process of it. ``base``
    (default: ``TMPDIR``) must be short: Ray's socket paths are limited to 107 bytes."""
    cluster_id = uuid.uuid4().hex[:12]
    # Ray's socket paths must stay under 108 bytes: a short folder, under the test's TMPDIR.
    temp_dir = Path(tempfile.mkdtemp(prefix="ray", dir=base))
    # nothing of a deployer home reaches the nodes (a replica gets its own environment)
    passed = {k: v for k, v in os.environ.items() if not k.startswith(("DEPLOYER_", "BENTOML_"))}
    # Ray binds the machine's own address, not loopback (it resolves 127.0.0.1 to it), so the
    # cluster takes a token: without it, anyone who reaches the machine could run code on it.
    # This process is a driver of it too (RayServing), so it holds the token while it runs.
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env = {
        **passed,
        **auth,
        CLUSTER_ENV: cluster_id,
        "RAY_USAGE_STATS_ENABLED": "0",
        "BENTOML_DO_NOT_TRACK": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
    }
    gcs_port = free_port()
    address = f"127.0.0.1:{gcs_port}"
    started = time.monotonic()
    common = [
        f"--num-cpus={NODE_CPUS}",
        f"--object-store-memory={OBJECT_STORE_BYTES}",
        "--node-ip-address=127.0.0.1",
        f"--temp-dir={temp_dir}",
    ]
    head = _ray_start(
        [
            "--head",
            f"--port={gcs_port}",
            "--include-dashboard=false",
            f"--ray-client-server-port={free_port()}",
            *common,
            *_node_ports(),
        ],
        env,
        temp_dir / "head.log",
    )
    cluster = RayCluster(address, f"http://127.0.0.1:{free_port()}", cluster_id, temp_dir, head)
    before = {k: os.environ.get(k) for k in auth}
    os.environ.update(auth)
    try:
        _wait_started(head, temp_dir / "head.log")
        if workers:
            cluster.worker = _start_worker(address, common, env, temp_dir)
        cluster.started_seconds = time.monotonic() - started
        yield cluster
    finally:
        _disconnect()
        cluster.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _disconnect() -> None:
    """This process leaves the cluster (RayServing made it a driver) before the cluster stops."""
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            ray.shutdown()
