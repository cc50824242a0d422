"""The traffic gateway: one asyncio process that routes predictions by the routing table.

Stack, chosen by measuring (DESIGN.md section 7): an aiohttp server with an aiohttp client
upstream. It costs about a quarter of what the same forwarder costs with httpx, and on two cores
the proxy's CPU per request is what decides throughput.

The parts: :mod:`mlops.gateway.proxy` (what happens to a prediction, the routing snapshot and
its reloads), :mod:`mlops.gateway.admin` (the admin API), :mod:`mlops.gateway.backend` (what the
gateway is given). This module puts them in one aiohttp application with its background tasks
and runs it. The gateway knows the database only through :class:`RouteBackend`;
``mlops.gateway.runner`` runs it over the real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from mlops.gateway.admin import AdminApi, parse_routes
from mlops.gateway.backend import GatewayConfig, RouteBackend
from mlops.gateway.deadlines import server_options, upstream_sessions
from mlops.gateway.proxy import log


class Gateway(AdminApi):
    """The data plane: predictions, the admin API, ``/metrics`` and ``/admin/stats``."""

    # -- lifecycle -------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application (runs the poller and the flusher while it is up)."""
        # The size limit is checked by hand in predict(), to answer with JSON.
        app = web.Application(client_max_size=self.config.max_body_bytes + 1)
        app.router.add_post("/v1/models/{name}/predict", self.predict)
        app.router.add_post("/v1/models/{tenant}/{name}/predict", self.predict)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/admin/stats", self.admin(self.admin_stats))
        app.router.add_post("/admin/reload", self.admin(self.reload_now))
        app.router.add_get("/admin/routes", self.admin(self.list_routes))
        app.router.add_get("/admin/routes/{name}", self.admin(self.get_routes))
        app.router.add_put("/admin/routes/{name}", self.admin(self.put_routes))
        app.router.add_delete("/admin/routes/{name}", self.admin(self.delete_routes))
        app.router.add_get("/admin/routes/{tenant}/{name}", self.admin(self.get_routes))
        app.router.add_put("/admin/routes/{tenant}/{name}", self.admin(self.put_routes))
        app.router.add_delete("/admin/routes/{tenant}/{name}", self.admin(self.delete_routes))
        app.cleanup_ctx.append(self._background)
        return app

    async def _background(self, app: web.Application) -> Any:
        self._session, self._shadow_session = upstream_sessions(self.config)
        await self.reload()
        tasks = [
            asyncio.create_task(self._every(self.config.poll_interval, self.poll)),
            asyncio.create_task(self._every(self.config.flush_interval, self.flush)),
        ]
        if self.capture is not None:
            with contextlib.suppress(Exception):  # the first round of run() retries it
                await self.capture.refresh()
            tasks.append(asyncio.create_task(self.capture.run()))
        yield
        for task in tasks:
            task.cancel()
        for task in self._shadow_tasks:
            task.cancel()
        for late in self._late:
            late.cancel()
        await asyncio.gather(*tasks, *self._shadow_tasks, *self._late, return_exceptions=True)
        try:
            await self.flush()
        except Exception as exc:  # said, not swallowed: these counters are lost with the process
            log.warning("the last figures flush failed; counters since the one before: %s", exc)
        if self.capture is not None:
            try:
                await self.capture.flush()
            except Exception as exc:
                lost = len(self.capture.queue)
                log.warning("the last capture flush failed; %d samples lost: %s", lost, exc)
        await self._session.close()
        await self._shadow_session.close()

    @staticmethod
    async def _every(seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await action()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the data plane keeps serving the last good table, and a
                # failed figures flush is carried whole by the next (the figures are cumulative)
                log.warning("gateway background task failed: %s", exc)


def run(gateway: Gateway, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM (foreground)."""
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop  # measured: less CPU per proxied request
    loop = loop_factory() if loop_factory else asyncio.new_event_loop()
    app = gateway.app()
    # Everything loaded so far lives as long as the process: out of the cyclic collector's
    # sight, its full collections (set off by the objects every request makes) stay small.
    gc.collect()
    gc.freeze()
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=None,
        print=None,
        loop=loop,
        **server_options(gateway.config),  # the slow clients' deadlines
    )


__all__ = ["Gateway", "GatewayConfig", "RouteBackend", "parse_routes", "run"]
