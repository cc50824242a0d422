"""The local liveness check a monitoring tick makes of every endpoint (two ``/proc`` reads a
server): a running process whose environment names the deployment and the home is alive; one
that names another deployment, or that is gone, or a zombie, is not. Real processes (``sleep``
with a server's markers, as ``bench/scale_world.py`` seeds them), stopped and reaped by PID."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import psutil

from lifecycle.ports import Endpoint
from mlops.endpoints_local import LocalEndpointManager

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from scale_world import endpoint_process, stop_endpoints


def test_only_a_running_process_marked_as_the_deployments_server_is_alive(tmp_path: Path) -> None:
    home = tmp_path / "bentoml"
    manager = LocalEndpointManager(home, tmp_path / "logs")
    pids = [endpoint_process("d-1", home), endpoint_process("d-2", tmp_path / "elsewhere")]
    try:
        ours = Endpoint("d-1", "http://127.0.0.1:9/", 9, pids[0])
        alive_before = manager.process_alive(ours)
        another_home = manager.process_alive(Endpoint("d-2", "http://127.0.0.1:9/", 9, pids[1]))
        named_other = manager.process_alive(Endpoint("d-2", "http://127.0.0.1:9/", 9, pids[0]))
        os.kill(pids[0], signal.SIGKILL)  # not reaped yet: a zombie of this process
        _until_zombie(pids[0])
        as_zombie = manager.process_alive(ours)
    finally:
        stop_endpoints(pids)
    gone = manager.process_alive(ours)

    assert alive_before and not another_home and not named_other
    assert not as_zombie and not gone
    assert not manager.process_alive(Endpoint("d-1", "http://127.0.0.1:9/", 9, None))


def _until_zombie(pid: int) -> None:
    for _ in range(1000):
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return
        time.sleep(0.01)
    raise AssertionError(f"{pid} never became a zombie")
