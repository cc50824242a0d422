"""Running gateway processes: the data plane in the foreground, and finding or stopping the
gateways a home started.

The gateway writes a PID file under ``$DEPLOYER_HOME/gateways/`` while it runs, so that
``deployer down`` can stop the gateways this home started.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lifecycle.errors import PortInUseError
from mlops.gateway.capture import CaptureConfig, CaptureSink, CaptureStore
from mlops.gateway.server import Gateway, GatewayConfig, RouteBackend, run
from mlops.processes import port_in_use


def gateway_identity(host: str, port: int) -> str:
    """This gateway process's name in ``gateway_stats``, unique per process start.

    ``host:port:pid`` alone repeats in containers: every replica of a Kubernetes Deployment is
    PID 1 listening on 0.0.0.0:8080, and so is a container restarted in the same pod. Replicas
    sharing a name would overwrite each other's figures (the monitor would count one replica's
    errors), and a restart would replace the totals a dead process left; so the machine's name
    (the pod's) and a random suffix are added."""
    return f"{socket.gethostname()[:63]}:{host}:{port}:{os.getpid()}:{secrets.token_hex(3)}"


def serve_gateway(
    backend: RouteBackend,
    gateway_dir: Path,
    host: str,
    port: int,
    *,
    token: Callable[[], str],
    flush_interval: float,
    retry_on_stable: bool = True,
    upstream_timeout: float = 10.0,
    sample_body_models: frozenset[str] = frozenset(),
    capture: CaptureStore | None = None,
    capture_config: CaptureConfig | None = None,
    tuning: Mapping[str, Any] | None = None,
) -> None:
    """Run a gateway until SIGINT or SIGTERM; refuse a taken port, then a token shorter than
    ``MIN_TOKEN_LENGTH`` (ConfigurationError), before touching anything (``token`` is read only
    then: reading it may create the home's token file).

    Its PID file under ``gateway_dir`` names it for ``running_gateways`` while it runs. With a
    ``capture`` store it samples each model's requests at the percent the store gives."""
    if port_in_use(port, host):
        raise PortInUseError(f"port {port} on {host} is already in use; pick another")
    config = GatewayConfig(
        token=token(),
        retry_on_stable=retry_on_stable,
        upstream_timeout=upstream_timeout,
        flush_interval=flush_interval,
        sample_body_models=sample_body_models,
        gateway_id=gateway_identity(host, port),
        **(tuning or {}),  # isolation and slow-client knobs (agents.settings_gateway)
    )
    sink = None
    if capture is not None:
        sink = CaptureSink(capture, config.gateway_id, capture_config or CaptureConfig())
    gateway = Gateway(backend, config, sink)
    gateway_dir.mkdir(parents=True, exist_ok=True)
    pidfile = gateway_dir / f"{port}.json"
    pidfile.write_text(json.dumps({"pid": os.getpid(), "host": host, "port": port}))
    try:
        run(gateway, host, port)
    finally:
        with contextlib.suppress(OSError):
            pidfile.unlink()


def running_gateways(gateway_dir: Path) -> list[dict[str, Any]]:
    """The gateways whose PID files are in ``gateway_dir`` and whose process is alive."""
    found = []
    for path in sorted(gateway_dir.glob("*.json")) if gateway_dir.exists() else []:
        try:
            info = json.loads(path.read_text())
            os.kill(int(info["pid"]), 0)
        except (OSError, ValueError, KeyError):
            with contextlib.suppress(OSError):
                path.unlink()  # a stale file of a gateway that is gone
            continue
        found.append(info)
    return found


def stop_gateways(gateway_dir: Path) -> list[dict[str, Any]]:
    """SIGTERM every gateway this home started; return what was stopped."""
    stopped = []
    for info in running_gateways(gateway_dir):
        with contextlib.suppress(OSError):
            os.kill(int(info["pid"]), signal.SIGTERM)
            stopped.append(info)
    return stopped
