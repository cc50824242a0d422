"""How the gateway's client forwards (issue 16): bodies pass through untouched, so it asks the
upstream for no compression (it no longer decompresses), keeps no cookies, and parses an
upstream URL once. A real aiohttp upstream and the real gateway app, in process."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from lifecycle.ports import Routes
from mlops.gateway.backend import GatewayConfig
from mlops.gateway.server import Gateway
from tests.gateway_state import State, Upstream

ANSWER = {"predictions": [1, 0], "model_version": "1"}


@dataclass
class Backend:
    url: str
    stored: list[Any] = field(default_factory=list)

    def load(self, models: Collection[str] | None = None) -> State:
        table = Routes("iris", {"d1": 100.0})
        return State({"iris": (table, 1)}, {"d1": Upstream("d1", "1", self.url)}, frozenset())

    def revisions(self) -> Mapping[str, int]:
        return {"iris": 1}

    def save(self, routes: Routes, actor: str) -> tuple[Routes, int]:
        raise NotImplementedError

    def clear(self, model_name: str, actor: str) -> bool:
        raise NotImplementedError

    def store_stats(self, *args: Any, **kwargs: Any) -> None:
        self.stored.append(args)


def test_the_gateway_asks_for_no_compression_keeps_no_cookies_and_forwards_bodies() -> None:
    seen: list[Mapping[str, str]] = []

    async def predict(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        body = json.dumps(ANSWER).encode()
        response = web.Response(body=body, content_type="application/json")
        response.set_cookie("session", "upstream-cookie")
        if "gzip" in request.headers.get("Accept-Encoding", ""):  # what it would do if asked
            response.body = gzip.compress(body)
            response.headers["Content-Encoding"] = "gzip"
        return response

    async def story() -> list[Any]:
        upstream_app = web.Application()
        upstream_app.router.add_post("/predict", predict)
        async with TestServer(upstream_app) as upstream:
            backend = Backend(str(upstream.make_url("")).rstrip("/"))
            gateway = Gateway(backend, GatewayConfig(token="t" * 16, flush_interval=60))
            async with TestClient(TestServer(gateway.app())) as client:
                answers = []
                for _ in range(3):
                    response = await client.post(
                        "/v1/models/iris/predict", data=b'{"instances": [[1, 2, 3, 4]]}'
                    )
                    answers.append((response.status, await response.json()))
                assert len(gateway.calls._urls) == 1  # parsed once, reused
                return answers

    answers = asyncio.run(story())
    assert answers == [(200, ANSWER)] * 3
    assert len(seen) == 3
    assert all(headers["Accept-Encoding"] == "identity" for headers in seen)
    assert all("Cookie" not in headers for headers in seen)  # the upstream's cookie is dropped
    assert all(headers["Content-Type"] == "application/json" for headers in seen)
    # exactly the gateway's own headers, none of aiohttp's (UPSTREAM_HEADERS carries them all)
    sent = {"Host", "Content-Type", "Accept", "Accept-Encoding", "User-Agent", "Content-Length"}
    assert all(set(headers) == sent for headers in seen)
    assert all(headers["User-Agent"] == "deployer-gateway" for headers in seen)
