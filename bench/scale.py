"""Scale figures (issue 17 item 6) on a real PostgreSQL the bench starts and stops by PID.

``tick``: the system graph's tick over every model at once (``SystemAgent.tick``: the
deployer's health checks of every open rollout, its actions, the serving aliases) over 1, 10,
100 and 1,000 models each with a live canary rollout (``bench/scale_world.py``: state DB rows,
one real process per endpoint, the MLflow registry with the aliases in place); median ms per
tick (and the CPU of the bench process in it: the tick's own work, less sensitive to other load)
and SQL round trips per tick (SQLAlchemy's ``before_cursor_execute``; the checkpointer
and the MLflow store are not counted), and the ratio of the largest size to the smallest.

``watcher``: the same over the watcher's whole tick (``agents.entrypoints.watch.fenced_tick``,
what ``deployer watch`` runs each interval: every model's lock in one transaction, healing and
ONE system-graph tick over the models held, then quality, and the monitor agent's watch over
every model's evidence read at once; the drift check, every 10th tick, is not in these ticks).

``gateway``: two gateway processes, over tables of 1 and 1,000 models, CPU per request under
the same load, idle CPU a second and a pushed reload's time; ``--baseline-src DIR`` adds a
gateway of older sources beside each, on the same database, measured in the same rounds.

``fleet``: two gateways and two watchers on one database under load, failures injected into
some canaries (``bench/scale_fleet.py``): double actions, a table's time to both gateways,
client-visible failures.

It prints figures; it asserts nothing.

    PYTHONPATH=src .venv/bin/python bench/scale.py tick --sizes 1,10,100,1000 --ticks 5
    PYTHONPATH=src .venv/bin/python bench/scale.py watcher --sizes 1,10,100 --ticks 3
    PYTHONPATH=src .venv/bin/python bench/scale.py gateway --sizes 1,1000 --baseline-src /tmp/b/src
    PYTHONPATH=src .venv/bin/python bench/scale.py fleet --models 20 --failing 4 --seconds 60
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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


def time_ticks(
    c: Any,
    ticks: int,
    watcher: bool,
    flush: Callable[[], None] = lambda: None,
    profile: Path | None = None,
) -> dict[str, Any]:
    """``ticks`` ticks under the watcher's lease: the watcher's whole tick (``fenced_tick``,
    what ``deployer watch`` runs each interval) or, without ``watcher``, the system graph's
    tick over every model at once (``SystemAgent.tick``: the deployer's health checks, the
    actions, the aliases). Before each, ``flush`` stores the gateways' figures, as a running
    gateway does every second (not timed): without it the rollouts' figures go stale and the
    monitor rolls them back, as it should. The first tick warms caches and is not counted.
    With ``profile``, the counted ticks run under cProfile and its stats are written there
    (the times are then the profiler's, not comparable with a run without it)."""
    import cProfile

    from agents.commands import Tick
    from agents.entrypoints import watch
    from database import leases

    holder, ttl = watch.holder_name(), 600.0
    fence = watch.fence_writes(c, holder)
    times, trips, cpu = [], [], []
    out: dict[str, Any] = {}
    counter = RoundTrips(c.engine)
    profiler = cProfile.Profile() if profile is not None else None
    try:
        with c.open_system() as agent:
            lease = leases.acquire(c.session_factory, watch.LEASE_NAME, holder, ttl)
            fence.token = lease.fence
            for n in range(ticks + 1):
                flush()
                counter.count = 0
                start, used = time.perf_counter(), time.process_time()
                if profiler is not None and n:
                    profiler.enable()
                if watcher:
                    out = watch.fenced_tick(c, agent, Tick(model_name=None), fence, ttl, n + 1)
                    checks = out["checks"]
                else:
                    out = agent.tick(c.settings.user, "")
                    checks = (out.get("monitor") or {}).get("checks", [])
                elapsed = time.perf_counter() - start
                if profiler is not None and n:
                    profiler.disable()
                if n == 0 and hasattr(watch, "settle_heap"):
                    watch.settle_heap()  # as ``deployer watch`` does after its first tick
                if n:
                    times.append(elapsed * 1000)
                    cpu.append((time.process_time() - used) * 1000)
                    trips.append(counter.count)
            leases.release(c.session_factory, watch.LEASE_NAME, holder)
    finally:
        counter.close()
    if profiler is not None and profile is not None:
        profiler.dump_stats(str(profile))
    return {
        "ms": round(statistics.median(times), 1),
        "cpu_ms": round(statistics.median(cpu), 1),
        "round_trips": statistics.median(trips),
        "checks": len(checks),
        "actions": sorted({str(ch.get("action") or "") for ch in checks}),
    }


def bench_tick(
    sizes: list[int], ticks: int, watcher: bool, profile: Path | None = None
) -> dict[str, Any]:
    """Each size's ticks on a fresh database; with ``profile``, the largest size's under
    cProfile (stats in that file: ``python -m pstats FILE``)."""
    from scale_world import register_in_mlflow, report_figures, seeded
    from tests.mlflow_template import seed_mlflow_store

    what = "watcher tick" if watcher else "system-graph tick"
    results: dict[int, dict[str, Any]] = {}
    with postgres() as server:
        for size in sizes:
            with (
                tempfile.TemporaryDirectory(prefix="scale-") as tmp,
                database(server, f"scale_{size}") as url,
                container(url, Path(tmp) / "home") as c,
            ):
                with seeded(c.session_factory, size, c.settings.bentoml_home) as world:
                    seed_mlflow_store(c.settings.tracking_uri)
                    register_in_mlflow(c.settings.tracking_uri, world, Path(tmp) / "artifacts")
                    flush = functools.partial(report_figures, c.session_factory, world)
                    profiled = profile if profile is not None and size == sizes[-1] else None
                    results[size] = time_ticks(c, ticks, watcher, flush, profiled)
                c.engine.dispose()
            row = results[size]
            print(
                f"{what} over {size:>5} rollouts: {row['ms']:8.1f} ms "
                f"({row['cpu_ms']:.0f} ms CPU in this process), "
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
        f"{what}, {sizes[-1]} vs {sizes[0]} rollouts: {summary['ms_ratio']}x the time, "
        f"{summary['round_trip_ratio']}x the round trips",
        flush=True,
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    return summary


@contextmanager
def process(command: list[str], env: dict[str, str], ready_url: str) -> Iterator[int]:
    """A process of the bench, ready when ``ready_url`` answers; stopped by PID."""
    import subprocess

    from mlops.processes import wait_http_ok

    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if not wait_http_ok(ready_url, 120, lambda: proc.poll() is None):
            raise SystemExit(f"{command[-3:]} did not start")
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def gateway_env(url: str, home: Path, src: Path = ROOT / "src") -> dict[str, str]:
    return {
        **os.environ,
        **QUIET,
        "DEPLOYER_HOME": str(home),
        "DEPLOYER_DATABASE_URL": url,
        "DEPLOYER_GATEWAY_TOKEN": TOKEN,
        "PYTHONPATH": str(src),
    }


TOKEN = "scale-bench-admin-token-0123"
DEFAULT_SIZES = "1,10,100,1000"
WARM_SECONDS = 65.0
IDLE_SECONDS = 20.0
"""The gateways' first window (60 s) and a flush, before the gateway arm measures."""
GATEWAY = [sys.executable, "-m", "agents.entrypoints.gateway"]


def reload_ms(base: str, times: int = 5) -> float:
    """Median ms of a pushed reload (``/admin/reload``, what a control plane that wrote a table
    sends: the old gateway loads every table again, today's what changed since its last)."""
    import httpx

    samples = []
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for _ in range(times):
            start = time.perf_counter()
            client.post(f"{base}/admin/reload").raise_for_status()
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


Arm = tuple[str, int]
"""A gateway of the bench: its sources (``after``: this tree; ``before``: ``--baseline-src``)
and the number of models in its table."""


def bench_gateway(
    sizes: list[int], rounds: int, requests: int, concurrency: int, baseline: Path | None = None
) -> dict[str, Any]:
    """Gateways over tables of ``sizes`` models (all in one run; with ``baseline``, a gateway
    of those sources beside each, on the same database), load alternating between them, CPU
    per request of each gateway process (its CPU time over the round / requests)."""
    from gateway import body_bytes, cpu_seconds, load
    from scale_world import seed

    from database.engine import make_engine, make_session_factory
    from mlops.processes import free_port

    sources = {"after": ROOT / "src"}
    if baseline is not None:
        sources["before"] = baseline
    with tempfile.TemporaryDirectory(prefix="scale-gw-") as tmp, postgres() as server:
        work = Path(tmp)
        body = work / "body.json"
        body.write_bytes(body_bytes())
        up_port = free_port()
        upstream = f"http://127.0.0.1:{up_port}"
        with contextlib.ExitStack() as stack:
            stack.enter_context(
                process(
                    [sys.executable, str(HERE / "scale_upstream.py"), str(up_port)],
                    {**os.environ},
                    f"{upstream}/readyz",
                )
            )
            gateways: dict[Arm, tuple[int, str]] = {}
            for size in sizes:
                url = stack.enter_context(database(server, f"scale_gw_{size}"))
                engine = make_engine(url)
                seed(make_session_factory(engine), size, work / "b", endpoint_url=upstream)
                engine.dispose()
                for arm, src in sources.items():
                    port = free_port()
                    base = f"http://127.0.0.1:{port}"
                    env = gateway_env(url, work / f"home-{arm}-{size}", src)
                    pid = stack.enter_context(
                        process([*GATEWAY, "--port", str(port)], env, f"{base}/healthz")
                    )
                    gateways[arm, size] = (pid, base)
            # a gateway runs for long: its first window (60 s) is not what serving costs
            time.sleep(WARM_SECONDS)
            before = {key: cpu_seconds([pid]) for key, (pid, _) in gateways.items()}
            time.sleep(IDLE_SECONDS)  # no requests: what the table's size costs by itself
            idle = {
                key: (cpu_seconds([pid]) - before[key]) / IDLE_SECONDS * 1000
                for key, (pid, _) in gateways.items()
            }
            reloads = {key: reload_ms(base) for key, (_, base) in gateways.items()}
            cpu: dict[Arm, list[float]] = {key: [] for key in gateways}
            for _ in range(rounds):
                for key, (pid, base) in gateways.items():
                    used_before = cpu_seconds([pid])
                    result = load(
                        f"{base}/v1/models/scale-00000/predict", requests, concurrency, body
                    )
                    used = cpu_seconds([pid]) - used_before
                    if result.get("failures"):
                        raise SystemExit(f"{result['failures']} requests failed at {key}")
                    cpu[key].append(used / requests * 1e6)
                    arm, size = key
                    print(f"round: {arm} {size} {cpu[key][-1]:.1f} us", file=sys.stderr)
    return gateway_report(sizes, list(sources), rounds, requests, cpu, reloads, idle)


def gateway_report(
    sizes: list[int],
    arms: list[str],
    rounds: int,
    requests: int,
    cpu: dict[Arm, list[float]],
    reloads: dict[Arm, float],
    idle: dict[Arm, float],
) -> dict[str, Any]:
    """Print the gateway arm's figures (medians) and return them."""
    medians = {key: statistics.median(v) for key, v in cpu.items()}
    small, large = sizes[0], sizes[-1]
    for arm in arms:
        for size in sizes:
            print(
                f"{arm:>6}: gateway with {size:>5} models in its table: "
                f"{medians[arm, size]:7.1f} us CPU per request (median of {rounds} rounds of "
                f"{requests}), pushed reload {reloads[arm, size]:7.1f} ms, "
                f"idle {idle[arm, size]:5.1f} ms CPU a second",
                flush=True,
            )
    ratios = {arm: medians[arm, large] / medians[arm, small] for arm in arms}
    for arm in arms:
        print(f"{arm:>6}: CPU per request, {large} vs {small} models: {ratios[arm]:.3f}x")
    if "before" in arms:
        for size in sizes:
            ratio = medians["after", size] / medians["before", size]
            gain = idle["before", size] / max(idle["after", size], 0.01)
            print(
                f"after vs before at {size} models: {ratio:.3f}x the CPU per request, "
                f"{gain:.1f}x less idle CPU",
                flush=True,
            )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)

    def flat(figures: dict[Arm, float]) -> dict[str, float]:
        return {f"{arm}:{size}": round(v, 1) for (arm, size), v in figures.items()}

    return {
        "us_per_request": flat(medians),
        "reload_ms": flat(reloads),
        "idle_ms_per_second": flat(idle),
        "ratio": {arm: round(r, 3) for arm, r in ratios.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "part", choices=["tick", "watcher", "gateway", "fleet"], nargs="?", default="tick"
    )
    parser.add_argument("--sizes", default=DEFAULT_SIZES)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5, help="gateway: alternating rounds")
    parser.add_argument("--requests", type=int, default=2000, help="gateway: per round")
    parser.add_argument("--concurrency", type=int, default=8, help="gateway: connections")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="gateway: a 'before' gateway from these sources beside each (e.g. "
        "git archive c5a16cb src | tar -x -C /tmp/before; pass /tmp/before/src)",
    )
    parser.add_argument("--models", type=int, default=20, help="fleet: canaries")
    parser.add_argument("--failing", type=int, default=4, help="fleet: canaries that fail")
    parser.add_argument("--seconds", type=float, default=60.0, help="fleet: load's length")
    parser.add_argument("--rate", type=float, default=200.0, help="fleet: requests a second")
    parser.add_argument("--logs", type=Path, help="fleet: copy the processes' logs here")
    parser.add_argument(
        "--profile", type=Path, help="tick/watcher: cProfile the largest size's ticks into FILE"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop what was started, by PID
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.part == "fleet":
        from scale_fleet import bench_fleet

        out = bench_fleet(args.models, args.failing, args.seconds, args.rate, args.logs)
    elif args.part == "gateway":
        sizes = [
            int(s) for s in (args.sizes if args.sizes != DEFAULT_SIZES else "1,1000").split(",")
        ]
        baseline = args.baseline_src.resolve() if args.baseline_src else None
        out = bench_gateway(sizes, args.rounds, args.requests, args.concurrency, baseline)
    else:
        out = bench_tick(sizes, args.ticks, watcher=args.part == "watcher", profile=args.profile)
    if args.json:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
