"""Slow clients and bodies (issue 16): a client that never finishes its headers, or its body, is
cut off at the gateway's deadline instead of holding a connection forever, and the shadow's
backlog is bounded in bytes. Real sockets against a real gateway in process, real upstreams, a
real SQLite state database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from database.routing import DbRouter
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.ports import Routes
from lifecycle.stages import DeploymentStatus, ModelStage
from tests.integration.db_helpers import add_version, deployment_row, migrated_factory
from tests.integration.test_gateway_isolation import _load
from tests.upstreams import MODEL, Answering, Hung, answering, gateway, hung, routed

GIVE_UP = 10.0
"""How long the test's own socket waits for the gateway (a bound that fails the test, not a
figure: the gateway's deadlines here are a fraction of it)."""


async def _until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the gateway sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), GIVE_UP)


def test_a_client_that_never_finishes_its_headers_is_disconnected(tmp_path: Path) -> None:
    factory = migrated_factory(f"sqlite:///{tmp_path / 'state.db'}")

    async def story() -> tuple[bytes, int]:
        async with answering(Answering()) as url:
            routed(factory, url, url, 0.0)
            async with gateway(factory, header_timeout=0.3) as running:
                port = int(running.url.rsplit(":", 1)[1])
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(f"POST /v1/models/{MODEL}/predict HTTP/1.1\r\nHost: x\r\n".encode())
                await writer.drain()
                said = await _until_closed(reader)
                writer.close()
                # the gateway still serves everyone else
                answers = await _load(running.url, 5, 1)
        return said, len([a for a in answers if a[0] == 200])

    said, served = asyncio.run(story())
    assert said == b"" and served == 5


def test_a_client_that_never_finishes_its_body_gets_a_408_and_is_disconnected(
    tmp_path: Path,
) -> None:
    factory = migrated_factory(f"sqlite:///{tmp_path / 'state.db'}")
    model_server = Answering()

    async def story() -> bytes:
        async with answering(model_server) as url:
            routed(factory, url, url, 0.0)
            async with gateway(factory, body_timeout=0.3) as running:
                port = int(running.url.rsplit(":", 1)[1])
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(
                    f"POST /v1/models/{MODEL}/predict HTTP/1.1\r\nHost: x\r\n"
                    "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                    '{"inputs": [[1,'.encode()
                )
                await writer.drain()
                said = await _until_closed(reader)
                writer.close()
        return said

    said = asyncio.run(story())
    assert said.startswith(b"HTTP/1.1 408 ")
    assert b'"code": "body_timeout"' in said
    assert model_server.seen == 0  # nothing half-read went upstream


def test_the_shadow_backlog_is_bounded_in_bytes(tmp_path: Path) -> None:
    factory = migrated_factory(f"sqlite:///{tmp_path / 'state.db'}")
    body = b'{"inputs": [' + b"[1.0, 2.0, 3.0, 4.0], " * 200 + b"[1, 2, 3, 4]]}"  # ~4.4 kB

    async def story() -> tuple[int, int, int, int]:
        async with answering(Answering()) as url, hung(Hung()) as shadow_url:
            stable, _ = routed(factory, url, url, 0.0)
            add_version(factory, MODEL, "3", ModelStage.SHADOW)
            with SqlAlchemyUnitOfWork(factory) as uow:
                uow.deployments.add(
                    deployment_row(
                        "iris-v3-shadow",
                        DeploymentStatus.ACTIVE,
                        MODEL,
                        "3",
                        shadow_url,
                        ModelStage.SHADOW,
                    )
                )
                uow.commit()
            DbRouter(factory).save(
                Routes(MODEL, {stable: 100.0}, "iris-v3-shadow", 100.0, stable), "tester"
            )
            # room for 3 requests and their answers in the backlog, far fewer than its count
            async with gateway(factory, shadow_backlog_bytes=3 * 4600) as running:
                async with aiohttp.ClientSession() as client:
                    for _ in range(20):
                        async with client.post(
                            f"{running.url}/v1/models/{MODEL}/predict",
                            data=body,
                            headers={"Content-Type": "application/json"},
                        ) as answer:
                            assert answer.status == 200
                plane = running.gateway
                comparison = plane.shadows["iris-v3-shadow"]
                waiting = len(plane._shadow_tasks)
                held = plane._shadow_bytes
                return comparison.mirrored, comparison.dropped, waiting, held

    mirrored, dropped, waiting, held = asyncio.run(story())
    assert (mirrored, dropped, waiting) == (20, 17, 3)
    assert 3 * len(body) < held <= 3 * 4600
