"""Scale figures (issue 17 item 6) on a real PostgreSQL the bench starts and stops by PID.

``tick``: the watcher's tick (``agents.entrypoints.watch.fenced_tick``, the code path of
``deployer watch``: locks, heal, the system graph's tick -> the deployer's health checks and
actions, quality and drift checks, the monitor agent) over 1, 10, 100 and 1,000 models each
with a live canary rollout (``bench/scale_world.py``); median ms per tick and SQL round trips
per tick (SQLAlchemy's ``before_cursor_execute``), and the ratio 1000 vs 1.

It prints figures; it asserts nothing.

    PYTHONPATH=src .venv/bin/python bench/scale.py tick --sizes 1,10,100,1000 --ticks 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(ROOT / "src"), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

QUIET = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DO_NOT_TRACK": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
}


@contextmanager
def postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL server (tests/postgres_server.py), stopped by PID."""
    from tests.postgres_server import running_postgres

    with running_postgres() as server:
        yield server


@contextmanager
def database(server: Any, name: str) -> Iterator[str]:
    """A fresh database at head on ``server``, dropped afterwards."""
    from tests.postgres_server import create_database, drop_database

    from database import migrate

    url = create_database(server, name)
    migrate.upgrade(url)
    try:
        yield url
    finally:
        drop_database(server, name)


class RoundTrips:
    """Counts the statements an engine sends (one round trip each)."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.count = 0
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._seen)


@contextmanager
def container(url: str, home: Path) -> Iterator[Any]:
    """The watcher's container over ``url`` (a home of its own)."""
    os.environ.update(QUIET)
    os.environ["DEPLOYER_HOME"] = str(home)
    os.environ["DEPLOYER_DATABASE_URL"] = url
    from agents.bootstrap import bootstrap
    from agents.settings import load_settings

    c = bootstrap(load_settings())
    try:
        yield c
    finally:
        c.close()


def time_ticks(c: Any, ticks: int) -> dict[str, Any]:
    """``ticks`` watcher ticks under the lease, as ``deployer watch`` runs them."""
    from agents.commands import Tick
    from agents.entrypoints import watch
    from database import leases

    holder = watch.holder_name()
    ttl = 600.0
    request = Tick(model_name=None)
    fence = watch.fence_writes(c, holder)
    times, trips, checks = [], [], 0
    counter = RoundTrips(c.engine)
    try:
        with c.open_system() as agent:
            lease = leases.acquire(c.session_factory, watch.LEASE_NAME, holder, ttl)
            fence.token = lease.fence
            for n in range(ticks + 1):  # the first warms caches and compiles: not counted
                counter.count = 0
                start = time.perf_counter()
                out = watch.fenced_tick(c, agent, request, fence, ttl, n + 1)
                elapsed = time.perf_counter() - start
                if out.get("status") != "ticked":
                    raise RuntimeError(f"the tick did not run: {out}")
                if n:
                    times.append(elapsed * 1000)
                    trips.append(counter.count)
                    checks = len(out["checks"])
            leases.release(c.session_factory, watch.LEASE_NAME, holder)
    finally:
        counter.close()
    return {
        "ms": statistics.median(times),
        "round_trips": statistics.median(trips),
        "checks": checks,
        "actions": sorted({c.get("action") or "" for c in out["checks"]}),
    }


def bench_tick(sizes: list[int], ticks: int) -> dict[str, Any]:
    from scale_world import seeded

    results: dict[int, dict[str, Any]] = {}
    with postgres() as server:
        for size in sizes:
            with (
                tempfile.TemporaryDirectory(prefix="scale-") as tmp,
                database(server, f"scale_{size}") as url,
                container(url, Path(tmp) / "home") as c,
            ):
                with seeded(c.session_factory, size, c.settings.bentoml_home):
                    results[size] = time_ticks(c, ticks)
                c.engine.dispose()
            row = results[size]
            print(
                f"tick over {size:>5} rollouts: {row['ms']:8.1f} ms, "
                f"{row['round_trips']:6.0f} round trips, {row['checks']} checks "
                f"({', '.join(row['actions'])})",
                flush=True,
            )
    first, last = results[sizes[0]], results[sizes[-1]]
    summary = {
        "sizes": {str(k): v for k, v in results.items()},
        "ms_ratio": round(last["ms"] / first["ms"], 2),
        "round_trip_ratio": round(last["round_trips"] / first["round_trips"], 2),
    }
    print(
        f"ratio {sizes[-1]} vs {sizes[0]}: {summary['ms_ratio']}x time, "
        f"{summary['round_trip_ratio']}x round trips"
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["tick"], nargs="?", default="tick")
    parser.add_argument("--sizes", default="1,10,100,1000")
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    out = bench_tick(sizes, args.ticks)
    if args.json:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
