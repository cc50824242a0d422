"""Real upstreams and a real in-process gateway for the isolation tests (issue 16): an aiohttp
model server that answers (or fails every n-th request), an asyncio server that accepts
connections and never answers, and a gateway over a real state database, each on a free port
of this event loop and stopped by its context manager."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from database.models import DeploymentRow
from database.routing import DbRouter
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.ports import Routes
from lifecycle.stages import DeploymentStatus, ModelStage
from mlops.gateway.backend import GatewayConfig
from mlops.gateway.deadlines import server_options
from mlops.gateway.server import Gateway
from mlops.processes import free_port
from tests.integration.db_helpers import add_version, deployment_row

MODEL = "iris"
TOKEN = "isolation-admin-token"


@dataclass
class Answering:
    """A model server: ``POST /predict`` answers ``{"predictions": [answer]}``, or 500 on every
    ``fail_every``-th request (evenly spread, as the fault drills fail), ``delay`` seconds
    after the request came."""

    answer: int = 1
    fail_every: int = 0
    seen: int = 0
    delay: float = 0.0

    async def predict(self, request: web.Request) -> web.Response:
        await request.read()
        self.seen += 1
        seen = self.seen
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_every and seen % self.fail_every == 0:
            return web.json_response({"error": "injected fault"}, status=500)
        return web.json_response({"predictions": [self.answer]})


@contextlib.asynccontextmanager
async def answering(server: Answering) -> AsyncIterator[str]:
    """Serve ``server`` on a free port; yield its URL."""
    app = web.Application()
    app.router.add_post("/predict", server.predict)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@dataclass
class Hung:
    """Accepts connections and never answers; counts the connections open at once (a client
    that gives up closes its side) and the most there ever were."""

    held: list[asyncio.StreamWriter] = field(default_factory=list)
    open: int = 0
    most: int = 0

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.held.append(writer)
        self.open += 1
        self.most = max(self.most, self.open)
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass  # read the request, answer nothing, until the client hangs up
        self.open -= 1


@contextlib.asynccontextmanager
async def hung(server: Hung) -> AsyncIterator[str]:
    """Listen for ``server`` on a free port; yield its URL."""
    port = free_port()
    listening = await asyncio.start_server(server.accept, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listening.close()
        for writer in server.held:
            writer.close()
        await listening.wait_closed()


def routed(
    factory: sessionmaker[Session], stable_url: str, canary_url: str, canary_percent: float
) -> tuple[str, str]:
    """Versions 1 and 2 of ``iris`` in production, a deployment of each at the URLs, and a
    routing table sending ``canary_percent`` to version 2's; the two deployment ids."""
    stable, canary = "iris-v1-stable", "iris-v2-canary"
    for version in ("1", "2"):
        add_version(factory, MODEL, version, ModelStage.PRODUCTION)
    with SqlAlchemyUnitOfWork(factory) as uow:
        for dep, version, url in ((stable, "1", stable_url), (canary, "2", canary_url)):
            row: DeploymentRow = deployment_row(
                dep, DeploymentStatus.ACTIVE, MODEL, version, url, ModelStage.PRODUCTION
            )
            uow.deployments.add(row)
        uow.commit()
    table = Routes(
        MODEL,
        {stable: 100.0 - canary_percent, canary: canary_percent},
        stable_deployment_id=stable,
    )
    DbRouter(factory).save(table, "tester")
    return stable, canary


@dataclass
class RunningGateway:
    gateway: Gateway
    url: str

    async def stats(self, client: aiohttp.ClientSession) -> dict[str, object]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with client.get(f"{self.url}/admin/stats", headers=headers) as answer:
            return dict(await answer.json())


@contextlib.asynccontextmanager
async def gateway(
    factory: sessionmaker[Session], **config: object
) -> AsyncIterator[RunningGateway]:
    """A gateway over the state database at ``factory`` on a free port (its poll and flush
    slow unless ``config`` says otherwise: the tests push what they need; its connect and
    pool deadlines generous, for 2 shared cores under load)."""
    knobs: dict[str, object] = {
        "poll_interval": 60.0,
        "flush_interval": 60.0,
        "connect_timeout": 5.0,
        "pool_timeout": 5.0,
        **config,
    }
    the_gateway = Gateway(DbRouter(factory), GatewayConfig(token=TOKEN, **knobs))  # type: ignore[arg-type]
    runner = web.AppRunner(the_gateway.app(), access_log=None, **server_options(the_gateway.config))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield RunningGateway(the_gateway, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
