"""``deployer api``: the ops API under uvicorn, one worker, in the foreground.

SIGTERM and SIGINT stop it gracefully: uvicorn stops accepting, finishes the requests in flight
and runs the app's shutdown, and the process then exits 0.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn

from agents.bootstrap import Container
from agents.entrypoints.api.app import create_app
from lifecycle.errors import PortInUseError
from mlops.processes import port_in_use

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def check_port(host: str, port: int) -> None:
    """Refuse a port something else holds, before anything is started or written."""
    if port_in_use(port, host):
        raise PortInUseError(f"port {port} on {host} is already in use; pick another")


def serve_api(
    container: Container,
    host: str,
    port: int,
    log_level: str = "info",
) -> None:
    """Serve the API on ``host:port`` until SIGTERM/SIGINT; refuse a taken port first. Tokens
    are the state database's (see ``create_app``)."""
    check_port(host, port)
    app = create_app(container)
    config = uvicorn.Config(app, host=host, port=port, workers=1, log_level=log_level)
    server = uvicorn.Server(config)
    with _stop_on_signals(server):
        server.run()


@contextmanager
def _stop_on_signals(server: uvicorn.Server) -> Iterator[None]:
    """While uvicorn serves, its own handlers take SIGTERM/SIGINT and shut down gracefully.

    These handlers cover the moments around that: a signal before uvicorn installed its own
    asks the server to exit as soon as it has started, and the signal uvicorn re-raises after
    its graceful shutdown lands here instead of killing the process (exit 0, not -15)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
