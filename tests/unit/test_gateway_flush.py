"""A gateway's figures flush fails closed: a failed flush is counted and logged, the next one
still runs and carries every counter, and every deployment a table routes is reported each
flush, requests or none (a fake backend; the real one is in tests/safety/test_fail_closed.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from lifecycle.ports import Routes
from mlops.gateway.backend import GatewayConfig
from mlops.gateway.proxy import DataPlane


@dataclass(frozen=True)
class Upstream:
    deployment_id: str
    model_version: str
    url: str | None


@dataclass(frozen=True)
class State:
    routes: Mapping[str, tuple[Routes, int]]
    upstreams: Mapping[str, Upstream]
    models: frozenset[str]


@dataclass
class Backend:
    """Stores every flush; refuses the next ``failures`` of them."""

    failures: int = 0
    stored: list[list[Mapping[str, Any]]] = field(default_factory=list)

    def load(self) -> State:
        table = Routes("iris", {"d1": 90.0, "d2": 10.0})
        ups = {d: Upstream(d, "1", f"http://127.0.0.1:1/{d}") for d in ("d1", "d2")}
        return State({"iris": (table, 1)}, ups, frozenset({"iris"}))

    def revisions(self) -> Mapping[str, int]:
        return {"iris": 1}

    def save(self, routes: Routes, actor: str) -> tuple[Routes, int]:
        raise NotImplementedError

    def clear(self, model_name: str, actor: str) -> bool:
        raise NotImplementedError

    def store_stats(
        self,
        gateway_id: str,
        deployments: Iterable[Mapping[str, Any]],
        shadows: Iterable[Mapping[str, Any]],
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the database refused the figures")
        self.stored.append(list(deployments))


def test_a_failed_flush_is_counted_and_the_next_carries_every_counter() -> None:
    backend = Backend(failures=2)
    plane = DataPlane(backend, GatewayConfig(token="t" * 16))

    async def story() -> None:
        await plane.reload()
        plane.stats["d1"].record(5.0, error=False)
        for _ in range(2):
            with pytest.raises(RuntimeError):
                await plane.flush()
        plane.stats["d1"].record(5.0, error=True)
        await plane.flush()

    asyncio.run(story())
    assert plane.failed_flushes == 2 and plane.flushed_at is not None
    [flushed] = backend.stored
    totals = {row["deployment_id"]: row["total"] for row in flushed}
    assert (totals["d1"]["requests"], totals["d1"]["errors"]) == (2, 1)


def test_every_routed_deployment_is_reported_even_without_requests() -> None:
    backend = Backend()
    plane = DataPlane(backend, GatewayConfig(token="t" * 16))

    async def story() -> None:
        await plane.reload()
        await plane.flush()

    asyncio.run(story())
    [flushed] = backend.stored
    assert sorted((r["deployment_id"], r["total"]["requests"]) for r in flushed) == [
        ("d1", 0),
        ("d2", 0),
    ]
