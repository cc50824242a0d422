"""A gateway's figures flush fails closed: a failed flush is counted and logged, the next one
still runs and carries every counter, and every deployment a table routes is reported each
flush, requests or none (a fake backend; the real one is in tests/safety/test_fail_closed.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from lifecycle.ports import Routes
from mlops.gateway.backend import GatewayConfig
from mlops.gateway.proxy import DataPlane
from tests.gateway_state import State, Upstream


@dataclass
class Backend:
    """Stores every flush; refuses the next ``failures`` of them."""

    failures: int = 0
    stored: list[list[Mapping[str, Any]]] = field(default_factory=list)
    retired: list[list[tuple[str, str]]] = field(default_factory=list)
    table: Routes = field(default_factory=lambda: Routes("iris", {"d1": 90.0, "d2": 10.0}))

    def load(self, models: Collection[str] | None = None) -> State:
        ups = {d: Upstream(d, "1", f"http://127.0.0.1:1/{d}") for d in self.table.weights}
        return State({"iris": (self.table, 1)}, ups, frozenset({"iris"}))

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
        *,
        unchanged: Collection[tuple[str, str]] | None = None,
        retired: Collection[tuple[str, str]] | None = None,
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the database refused the figures")
        assert unchanged is None and retired is not None, "the unchanged rows go unnamed"
        self.stored.append(list(deployments))
        self.retired.append(sorted(retired))


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


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def frozen(plane: DataPlane, clock: Clock) -> None:
    """The plane's figures on ``clock`` (their window's covered seconds move with real time)."""
    for stats in plane.stats.values():
        stats.clock = clock
        stats.started = stats.recorded_at = clock.now


def written(backend: Backend) -> list[list[str]]:
    return [[row["deployment_id"] for row in rows] for rows in backend.stored]


def test_a_flush_writes_only_the_rows_whose_figures_changed_since_the_last_stored() -> None:
    backend = Backend()
    plane = DataPlane(backend, GatewayConfig(token="t" * 16))
    clock = Clock()

    async def story() -> None:
        await plane.reload()
        frozen(plane, clock)
        await plane.flush()  # the first: every row
        await plane.flush()  # nothing changed: every row only marked as reported
        plane.stats["d1"].record(5.0, error=False)
        backend.failures = 1
        with pytest.raises(RuntimeError):
            await plane.flush()
        await plane.flush()  # the failed one's change is still written

    asyncio.run(story())
    assert written(backend) == [["d1", "d2"], [], ["d1"]]
    assert backend.retired == [[], [], []], "every other row is marked, none named"


def test_a_deployment_no_table_names_is_forgotten_once_idle_for_a_window() -> None:
    backend = Backend()
    plane = DataPlane(backend, GatewayConfig(token="t" * 16, window_seconds=60))
    clock = Clock()

    async def story() -> None:
        await plane.reload()
        frozen(plane, clock)
        plane.stats["d2"].record(5.0, error=False)
        await plane.flush()
        backend.table = Routes("iris", {"d1": 100.0})  # d2 retired
        await plane.reload()
        clock.now += 30  # a late retry or shadow answer may still land: kept for a window
        await plane.flush()
        assert "d2" in plane.stats
        clock.now += 31
        await plane.flush()

    asyncio.run(story())
    assert "d2" not in plane.stats
    # d2 is no longer written nor marked: its stored row stays as it was (a gate's evidence)
    assert backend.retired[-1] == [("deployment", "d2")] and written(backend)[-1] == ["d1"]
