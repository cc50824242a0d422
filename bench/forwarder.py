"""The bare forwarder arm of bench/gateway.py: the least an aiohttp proxy can do per request.

A plain aiohttp server whose one route POSTs the body to one upstream through a pooled
keep-alive aiohttp ClientSession and answers with its body, on uvloop. No routing table, no
metrics, no shadow, no capture: what our gateway costs over this is what our logic costs.

    python bench/forwarder.py --port 9000 --upstream http://127.0.0.1:3000/predict
"""

from __future__ import annotations

import argparse
from typing import Any

import aiohttp
from aiohttp import web


def app(upstream: str) -> web.Application:
    application = web.Application()
    holder: dict[str, aiohttp.ClientSession] = {}

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        async with holder["session"].post(
            upstream, data=body, headers={"Content-Type": "application/json"}
        ) as answer:
            data = await answer.read()
            return web.Response(body=data, status=answer.status, content_type="application/json")

    async def session(application: web.Application) -> Any:
        holder["session"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256, keepalive_timeout=30)
        )
        yield
        await holder["session"].close()

    application.router.add_post("/v1/models/{name}/predict", forward)
    application.cleanup_ctx.append(session)
    return application


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    import uvloop

    loop = uvloop.new_event_loop()
    web.run_app(
        app(args.upstream), host="127.0.0.1", port=args.port, access_log=None, print=None, loop=loop
    )


if __name__ == "__main__":
    main()
