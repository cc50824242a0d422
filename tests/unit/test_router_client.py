"""``ConfirmingRouter``'s confirmation over fake gateways (httpx's ``MockTransport``): the gateways
are pushed to at the same time, a gateway confirms by its push's answer or by a later poll, and
one that never serves the revision is named in ``unconfirmed``."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from lifecycle.ports import Routes
from mlops.gateway.router_client import ConfirmingRouter


class Store:
    """A route store that counts revisions per model."""

    actor = "tester"

    def __init__(self) -> None:
        self.saved: dict[str, tuple[Routes, int]] = {}

    def save(self, routes: Routes, actor: str) -> tuple[Routes, int]:
        revision = self.saved.get(routes.model_name, (routes, 0))[1] + 1
        self.saved[routes.model_name] = (routes, revision)
        return routes, revision

    def get_routes(self, model_name: str) -> Routes | None:
        found = self.saved.get(model_name)
        return found[0] if found else None

    def tables(self, model_names: Iterable[str]) -> dict[str, Routes]:
        return {n: self.saved[n][0] for n in model_names if n in self.saved}


def gateways(folder: Path, ports: list[int]) -> None:
    """PID files of running gateways (this process stands for their processes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for port in ports:
        info = {"pid": os.getpid(), "host": "127.0.0.1", "port": port}
        (folder / f"{port}.json").write_text(json.dumps(info))


def router(tmp_path: Path, handler: object, ports: list[int], timeout: float = 2.0) -> Any:
    gateways(tmp_path / "gw", ports)
    r = ConfirmingRouter(Store(), tmp_path / "gw", "t", timeout)
    r._client = httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return r


def table() -> Routes:
    return Routes(model_name="m", weights={"d1": 100.0}, stable_deployment_id="d1")


def test_two_gateways_are_pushed_at_the_same_time_and_both_confirm_by_their_answer(
    tmp_path: Path,
) -> None:
    both = threading.Barrier(2, timeout=1.5)  # passes only if both pushes are in flight at once
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.port}")
        if request.method == "POST":
            try:
                both.wait()
            except threading.BrokenBarrierError:
                return httpx.Response(503)
            return httpx.Response(200, json={"revisions": {"m": 1}})
        return httpx.Response(200, json={"revision": 0})

    r = router(tmp_path, handler, [8001, 8002], timeout=0.3)
    r.set_routes(table())
    assert r.unconfirmed == []
    assert sorted(asked) == ["POST 8001", "POST 8002"]  # confirmed by the push: no poll


def test_a_gateway_whose_push_answer_is_behind_is_polled_until_it_serves(tmp_path: Path) -> None:
    polls = {8001: 0, 8002: 0}

    def handler(request: httpx.Request) -> httpx.Response:
        port = int(request.url.port or 0)
        if request.method == "POST":
            served = 1 if port == 8001 else 0
            return httpx.Response(200, json={"revisions": {"m": served}})
        polls[port] += 1
        return httpx.Response(200, json={"revision": 1 if polls[port] >= 3 else 0})

    r = router(tmp_path, handler, [8001, 8002])
    r.set_routes(table())
    assert r.unconfirmed == []
    assert polls == {8001: 0, 8002: 3}


def test_a_gateway_that_never_serves_the_revision_is_named_unconfirmed(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        port = int(request.url.port or 0)
        if port == 8002:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"revisions": {"m": 1}, "revision": 1})

    r = router(tmp_path, handler, [8001, 8002], timeout=0.2)
    r.set_routes(table())
    assert r.unconfirmed == ["http://127.0.0.1:8002"]


def test_an_unreadable_answer_leaves_the_gateway_pending(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not json")

    r = router(tmp_path, handler, [8001, 8002], timeout=0.2)
    r.set_routes(table())
    assert r.unconfirmed == ["http://127.0.0.1:8001", "http://127.0.0.1:8002"]


def test_without_running_gateways_nothing_is_asked(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no gateway runs: nothing to ask")

    r = router(tmp_path, handler, [])
    r.set_routes(table())
    assert r.unconfirmed == []
