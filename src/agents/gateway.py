"""``deployer gateway``: the data plane in the foreground, wired to the state database.

The gateway writes a PID file under ``$DEPLOYER_HOME/gateways/`` while it runs, so that
``deployer down`` can stop the gateways this home started.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from database.routing import DbRouter
from lifecycle.errors import PortInUseError
from lifecycle.ports import Routes
from mlops.gateway.server import Gateway, GatewayConfig, run
from mlops.processes import port_in_use

if TYPE_CHECKING:
    from agents.bootstrap import Container

log = logging.getLogger(__name__)


def serve_gateway(
    container: Container,
    host: str,
    port: int,
    retry_on_stable: bool = True,
    upstream_timeout: float = 10.0,
) -> None:
    """Run a gateway until SIGINT or SIGTERM; refuse a taken port before touching anything."""
    if port_in_use(port, host):
        raise PortInUseError(f"port {port} on {host} is already in use; pick another")
    settings = container.settings
    config = GatewayConfig(
        token=settings.gateway_token,
        retry_on_stable=retry_on_stable,
        upstream_timeout=upstream_timeout,
        flush_interval=settings.gateway_flush_seconds,
        gateway_id=f"{host}:{port}:{os.getpid()}",
    )
    gateway = Gateway(container.router, config)
    settings.gateway_dir.mkdir(parents=True, exist_ok=True)
    pidfile = settings.gateway_dir / f"{port}.json"
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


class ConfirmingRouter:
    """The router port over the state DB that returns once this home's running gateways serve
    the new table (or ``timeout`` passed): a deploy or rollback that reports done is in effect.

    The DB stays the source of truth; a gateway that does not confirm in time is named in
    ``unconfirmed`` and picks the table up on its next poll anyway.
    """

    def __init__(self, db: DbRouter, gateway_dir: Path, token: str, timeout: float = 5.0) -> None:
        self.db = db
        self.gateway_dir = gateway_dir
        self.token = token
        self.timeout = timeout
        self.unconfirmed: list[str] = []
        self.last_confirm_seconds: float | None = None
        self.last_effective_seconds: float | None = None
        """Seconds from the table's write until every running gateway served it."""

    def set_routes(self, routes: Routes) -> None:
        _, revision = self.db.save(routes, self.db.actor)
        started = time.monotonic()
        self.last_confirm_seconds = self.wait_served(routes.model_name, revision, push=True)
        self.last_effective_seconds = time.monotonic() - started

    def get_routes(self, model_name: str) -> Routes | None:
        return self.db.get_routes(model_name)

    def wait_served(self, model_name: str, revision: int, push: bool = False) -> float:
        """Seconds until every running gateway served ``revision`` of the model's table.

        With ``push``, each gateway is first asked to load the tables now rather than at its
        next poll; its answer names the revisions it serves, which confirms it at once. One that
        does not answer is polled, and still picks the table up itself (the DB is the source of
        truth).
        """
        started = time.monotonic()
        pending = {f"http://{g['host']}:{g['port']}" for g in running_gateways(self.gateway_dir)}
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(timeout=1.0, headers=headers) as client:
            for url in sorted(pending) if push else ():
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    answer = client.post(f"{url}/admin/reload")
                    served = answer.json().get("revisions", {}) if answer.is_success else {}
                    if int(served.get(model_name, 0)) >= revision:
                        pending.discard(url)
            while pending and time.monotonic() - started < self.timeout:
                for url in sorted(pending):
                    with contextlib.suppress(httpx.HTTPError, ValueError):
                        answer = client.get(f"{url}/admin/routes/{model_name}")
                        if answer.is_success and int(answer.json().get("revision", 0)) >= revision:
                            pending.discard(url)
                if pending:
                    time.sleep(0.02)
        self.unconfirmed = sorted(pending)
        if pending:
            log.warning("gateways %s did not confirm %s revision %s", pending, model_name, revision)
        return time.monotonic() - started
