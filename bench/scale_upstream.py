"""A tiny model server standing for every deployment of the scale bench's gateway arm: answers
``POST /predict`` with one prediction per row asked and ``GET /readyz``/``/healthz``/
``/livez``/``/model_info`` with 200 (one aiohttp process; the gateway's own work is measured,
not a model's). With ``--fail``, every prediction answers 500 (a broken canary; it stays
ready, as a server whose model raises does).

    python bench/scale_upstream.py PORT [--fail]
"""

from __future__ import annotations

import json
import sys

from aiohttp import web

FAILING = web.AppKey("failing", bool)


async def predict(request: web.Request) -> web.Response:
    if request.app[FAILING]:
        return web.json_response({"error": "injected failure"}, status=500)
    body = json.loads(await request.read() or b"{}")
    rows = body.get("instances") or body.get("inputs") or [[0]]
    return web.json_response({"predictions": [0] * len(rows)})


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    app[FAILING] = "--fail" in sys.argv[2:]
    app.router.add_post("/predict", predict)
    for path in ("/readyz", "/healthz", "/livez", "/model_info"):
        app.router.add_get(path, ok)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
