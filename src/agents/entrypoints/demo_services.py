"""The demo's own services: ``deployer gateway`` and ``deployer api`` for its home, each a
process on a free port, stopped by PID (its process tree) when the demo ends."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mlops.processes import free_port, terminate_tree, wait_http_ok

if TYPE_CHECKING:
    from agents.bootstrap import Container
    from agents.entrypoints.demo_alerts import Says as Timeline


@contextmanager
def serve(c: Container, t: Timeline, what: str) -> Iterator[str]:
    """``deployer gateway`` or ``deployer api`` for the demo's home on a free port; its URL.
    Stopped by PID (its process tree) at the end."""
    port = free_port("127.0.0.1")
    command = [sys.executable, "-c", "from agents.entrypoints.cli import main; main()", what]
    if what == "gateway":  # the gateway's own entry point: no CLI, MLflow or LangGraph
        command = [sys.executable, "-m", "agents.entrypoints.gateway"]
    c.settings.ensure_home()
    log = (c.settings.home_dir / f"{what}.log").open("ab")
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_http_ok(f"{url}/healthz", 60, lambda: proc.poll() is None):
            raise RuntimeError(f"the {what} did not start; see {c.settings.home_dir}/{what}.log")
        t.say(f"{'ops API' if what == 'api' else what} listening on {url}")
        yield url
    finally:
        terminate_tree(proc.pid)
        proc.wait(timeout=10)
        log.close()
