"""A gateway over a backend with a fingerprint (``mlops.gateway.tables``): a poll that finds the
fingerprint unchanged reads nothing else; a saved table loads that table only, keeping the
others' compiled routes and counters; a cleared table is dropped; a deployment's new URL
loads everything; a capture change refreshes the percents and nothing else (a fake backend;
the state database's fingerprint is tests/integration/test_database_routing.py's)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.ports import Routes
from lifecycle.table_sync import Fingerprint
from mlops.gateway.backend import GatewayConfig
from mlops.gateway.capture import CaptureConfig, CaptureSink
from mlops.gateway.proxy import DataPlane
from tests.fakes import FakeCaptureStore
from tests.gateway_state import State, Upstream


@dataclass
class Backend:
    """Tables of models ``m0``..``mN`` (deployments ``mK-a``/``mK-b``), a fingerprint built
    from them, and a log of every read."""

    models: int = 3
    revisions_: dict[str, int] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    capture_version: int = 0
    remade: dict[str, float] = field(default_factory=dict)
    """Tables cleared and saved again (back at revision 1) with this weight on ``-a``."""
    reads: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        for k in range(self.models):
            self.revisions_[f"m{k}"] = 1
            for side in "ab":
                self.urls[f"m{k}-{side}"] = f"http://127.0.0.1:1/m{k}-{side}"

    def table(self, name: str) -> Routes:
        weight = self.remade.get(name, 90.0 if self.revisions_[name] % 2 else 50.0)
        return Routes(name, {f"{name}-a": weight, f"{name}-b": 100.0 - weight})

    def fingerprint(self) -> Fingerprint:
        self.reads.append("fingerprint")
        routes = (len(self.revisions_), sum(self.revisions_.values()), len(self.remade))
        return Fingerprint(
            routes, (tuple(sorted(self.urls.items())),), (1,), (self.capture_version,)
        )

    def load(self, models: Collection[str] | None = None) -> State:
        self.reads.append(("load", None if models is None else sorted(models)))
        names = self.revisions_ if models is None else models
        routes = {n: (self.table(n), self.revisions_[n]) for n in names}
        ups = {d: Upstream(d, "1", url) for d, url in self.urls.items()}
        return State(routes, ups, frozenset(self.revisions_) if models is None else frozenset())

    def revisions(self) -> Mapping[str, int]:
        self.reads.append("revisions")
        return dict(self.revisions_)

    def save(self, routes: Routes, actor: str) -> tuple[Routes, int]:
        raise NotImplementedError

    def clear(self, model_name: str, actor: str) -> bool:
        raise NotImplementedError

    def store_stats(
        self,
        gateway_id: str,
        deployments: Iterable[Mapping[str, Any]],
        shadows: Iterable[Mapping[str, Any]],
        **kinds: Any,
    ) -> None:
        raise NotImplementedError


def test_an_unchanged_fingerprint_costs_one_read_and_a_saved_table_loads_only_itself() -> None:
    backend = Backend()
    plane = DataPlane(backend, GatewayConfig(token="t" * 16))

    async def story() -> None:
        await plane.reload()  # the first: everything
        first = dict(plane.snapshot.routes)
        plane.stats["m0-a"].record(5.0, error=False)
        backend.reads.clear()
        await plane.poll()
        await plane.poll()
        assert backend.reads == ["fingerprint", "fingerprint"]
        backend.revisions_["m1"] = 2
        backend.reads.clear()
        await plane.poll()
        assert backend.reads == ["fingerprint", "revisions", ("load", ["m1"])]
        routes = plane.snapshot.routes
        assert routes["m1"].revision == 2 and routes["m1"] is not first["m1"]
        assert routes["m1"].routes.weights == {"m1-a": 50.0, "m1-b": 50.0}
        assert routes["m0"] is first["m0"] and routes["m2"] is first["m2"]
        assert plane.stats["m0-a"].requests == 1 and plane.snapshot.models == {"m0", "m1", "m2"}

    asyncio.run(story())


def test_a_cleared_table_is_dropped_and_a_deployments_new_url_loads_everything() -> None:
    backend = Backend()
    plane = DataPlane(backend, GatewayConfig(token="t" * 16))

    async def story() -> None:
        await plane.reload()
        del backend.revisions_["m2"]
        backend.reads.clear()
        await plane.poll()
        assert backend.reads == ["fingerprint", "revisions"]
        assert sorted(plane.snapshot.routes) == ["m0", "m1"]
        backend.urls["m0-b"] = "http://127.0.0.1:2/restarted"
        backend.reads.clear()
        await plane.poll()
        assert backend.reads == ["fingerprint", ("load", None)]
        assert plane.snapshot.routes["m0"].upstreams["m0-b"].url == "http://127.0.0.1:2/restarted"

    asyncio.run(story())


def test_the_capture_percents_are_read_when_the_capture_settings_change_and_only_then() -> None:
    backend, store = Backend(), FakeCaptureStore()
    sink = CaptureSink(store, "gw", CaptureConfig())
    plane = DataPlane(backend, GatewayConfig(token="t" * 16), sink)
    assert sink.refresh_each_round is False

    async def story() -> None:
        await plane.reload()
        store.set_percent("m0", 10.0)
        await plane.poll()
        assert sink.percents == {}, "the settings' fingerprint did not move: not read"
        backend.capture_version += 1
        backend.reads.clear()
        await plane.poll()
        assert sink.percents == {"m0": 10.0} and backend.reads == ["fingerprint"]

    asyncio.run(story())


def test_a_table_cleared_and_made_again_at_the_same_revision_is_loaded_again() -> None:
    """The routes' fingerprint moved but no revision did (a new row starts at 1 again): the
    gateway cannot tell which table changed, so it loads them all."""
    backend = Backend()
    plane = DataPlane(backend, GatewayConfig(token="t" * 16))

    async def story() -> None:
        await plane.reload()
        backend.remade["m1"] = 30.0  # cleared, then saved again: revision 1 as before
        backend.reads.clear()
        await plane.poll()
        assert backend.reads == ["fingerprint", "revisions", ("load", None)]
        assert plane.snapshot.routes["m1"].routes.weights == {"m1-a": 30.0, "m1-b": 70.0}

    asyncio.run(story())
