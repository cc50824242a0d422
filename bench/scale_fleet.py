"""Two gateways and two watchers on one PostgreSQL under load (issue 17 item 6, third figure).

Called by ``bench/scale.py fleet``. On a PostgreSQL it starts (``tests/postgres_server.py``,
stopped by PID): N models each with a canary at 10% (``scale_world.seed``: the rows a deploy
leaves, one stand-in server process per deployment for the watchers' liveness check), every
stable and healthy canary behind one cheap upstream (``scale_upstream.py``), the ``--failing``
canaries behind one that answers 500 to every prediction. Then, all sharing one home (its
gateway folder is how a watcher's ``ConfirmingRouter`` finds the gateways to push to):

- two gateway processes (``python -m agents.entrypoints.gateway``);
- a load process sending predictions to random models, alternating between the gateways, at
  ``--rate`` requests a second (its answers counted: the client-visible failures);
- two ``deployer watch --interval 1 --json`` processes: one holds the lease, one stands by;
  ``--seconds``/2 after the first ticks, it is stopped (SIGTERM) and the standby takes over;
  the load runs ``--seconds``/2 more.

Meanwhile the bench polls the routing tables in the DB and both gateways' ``/admin/routes``
every ``POLL`` seconds and records when each revision of each table was written and first
served by each gateway. It prints: the audit events of the watchers' actions per deployment
(each step, completion and rollback exactly once: no double action), the time from a table's
write to both gateways serving it (median, p95, max; the poll's period is its resolution),
and the load's failures. It prints figures; it asserts nothing.

    PYTHONPATH=src .venv/bin/python bench/scale.py fleet --models 20 --failing 4 --seconds 60
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POLL = 0.05
"""Seconds between the bench's looks at the tables and the gateways (the figures' resolution)."""
PAUSE = 5.0
"""Each canary step's pause: short, so healthy canaries walk every step within the run."""
ROLLBACK = {"min_requests": 20, "latency_multiplier": 10.0}
"""The canaries' gates: every stand-in server is the same process, so a latency gap is the
shared machine's noise, not a slower model (1.5x, the balanced preset's, and 3x failed healthy
canaries on the p99 of 20 requests under load)."""
ACTIONS = ("canary_advanced", "canary_completed", "rolled_back", "deployment_rolled_back")


def load_main(argv: list[str]) -> None:
    """The load process: ``load GATEWAYS MODELS RATE`` until SIGTERM; then one JSON line of
    counts."""
    gateways, models, rate = argv[0].split(","), argv[1].split(","), float(argv[2])
    print(json.dumps(asyncio.run(_load(gateways, models, rate))), flush=True)


async def _load(gateways: list[str], models: list[str], rate: float) -> Any:
    import aiohttp

    body = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}).encode()
    headers = {"Content-Type": "application/json"}
    statuses: Counter[str] = Counter()
    pending: set[asyncio.Task[None]] = set()
    done = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)

    async def one(session: aiohttp.ClientSession, url: str) -> None:
        try:
            async with session.post(url, data=body, headers=headers) as r:
                await r.read()
                statuses[str(r.status)] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            statuses[type(exc).__name__] += 1

    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started, sent = time.monotonic(), 0
        while not done.is_set():
            due = int((time.monotonic() - started) * rate)
            for _ in range(due - sent):
                gateway, model = gateways[sent % len(gateways)], random.choice(models)
                task = asyncio.create_task(one(session, f"{gateway}/v1/models/{model}/predict"))
                pending.add(task)
                task.add_done_callback(pending.discard)
                sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.01)
        if pending:
            await asyncio.wait(pending)
    return {
        "sent": sent,
        "seconds": round(time.monotonic() - started, 1),
        "statuses": dict(statuses),
    }


class Revisions:
    """When each (model, revision) was written (the row's ``updated_at``) and first served by
    each gateway, as the bench's poll saw them."""

    def __init__(self, url: str, gateways: list[str], token: str) -> None:
        self.url, self.gateways, self.token = url, gateways, token
        self.written: dict[tuple[str, int], float] = {}
        self.served: dict[str, dict[tuple[str, int], float]] = {g: {} for g in gateways}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="revisions", daemon=True)

    def _run(self) -> None:
        import httpx
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url)
        headers = {"Authorization": f"Bearer {self.token}"}
        with engine.connect() as conn, httpx.Client(timeout=2, headers=headers) as http:
            while not self.stop.wait(POLL):
                rows = conn.execute(text("SELECT model_name, revision, updated_at FROM routes"))
                for name, revision, at in rows:
                    stamp = at.replace(tzinfo=UTC) if at.tzinfo is None else at
                    self.written.setdefault((name, revision), stamp.timestamp())
                conn.commit()
                for gateway in self.gateways:
                    with contextlib.suppress(httpx.HTTPError, ValueError):
                        seen = time.time()
                        tables = http.get(f"{gateway}/admin/routes").json()["routes"]
                        for table in tables:
                            key = (table["model_name"], int(table["revision"]))
                            self.served[gateway].setdefault(key, seen)
        engine.dispose()

    def delays(self, after: float) -> list[float]:
        """Seconds from each revision written after ``after`` (not the seeded ones) until both
        gateways served it (or a later one)."""
        out = []
        for (name, revision), written in self.written.items():
            if written < after:
                continue
            firsts = []
            for served in self.served.values():
                times = [t for (n, r), t in served.items() if n == name and r >= revision]
                if times:
                    firsts.append(min(times))
            if len(firsts) == len(self.gateways):
                out.append(max(0.0, max(firsts) - written))
        return out


@contextlib.contextmanager
def started(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A process of the bench, its output in ``log``; stopped by PID (SIGTERM, then SIGKILL)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    from mlops.processes import wait_http_ok

    if not wait_http_ok(url, 120, lambda: proc.poll() is None):
        raise SystemExit(f"{url} did not answer (exit {proc.poll()})")


def lease_holder(log: Path) -> bool:
    """Whether the watcher writing ``log`` has ticked as the lease's holder."""
    with contextlib.suppress(OSError):
        for line in log.read_text().splitlines():
            if line.startswith("{") and json.loads(line).get("status") != "standby":
                return True
    return False


def wait_for(what: Any, seconds: float, why: str) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {why}")
        time.sleep(0.2)


def bench_fleet(
    models: int, failing: int, seconds: float, rate: float, logs: Path | None = None
) -> dict[str, Any]:
    from scale import QUIET, TOKEN, container, database, postgres
    from scale_world import register_in_mlflow, seeded
    from tests.mlflow_template import seed_mlflow_store

    from mlops.processes import free_port

    with tempfile.TemporaryDirectory(prefix="scale-fleet-") as tmp, postgres() as server:
        work = Path(tmp)
        home = work / "home"
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(database(server, "scale_fleet"))
            env = {
                **os.environ,
                **QUIET,
                "DEPLOYER_HOME": str(home),
                "DEPLOYER_DATABASE_URL": url,
                "DEPLOYER_GATEWAY_TOKEN": TOKEN,
                "PYTHONPATH": str(ROOT / "src"),
            }
            os.environ["DEPLOYER_GATEWAY_TOKEN"] = TOKEN
            upstreams = {}
            for kind in ("ok", "fail"):
                port = free_port()
                cmd = [sys.executable, str(HERE / "scale_upstream.py"), str(port)]
                cmd += ["--fail"] if kind == "fail" else []
                proc = stack.enter_context(started(cmd, env, work / f"upstream-{kind}.log"))
                upstreams[kind] = f"http://127.0.0.1:{port}"
                ready(f"{upstreams[kind]}/readyz", proc)
            c = stack.enter_context(container(url, home))
            names = [f"fleet-{i:05d}" for i in range(models)]
            broken = {n: upstreams["fail"] for n in names[:failing]}
            world = stack.enter_context(
                seeded(
                    c.session_factory,
                    models,
                    c.settings.bentoml_home,
                    prefix="fleet",
                    gateways=(),
                    endpoint_url=upstreams["ok"],
                    processes=True,
                    canary_urls=broken,
                    pause_seconds=PAUSE,
                    rollback=ROLLBACK,
                    canary_stage="production",
                )
            )
            seed_mlflow_store(c.settings.tracking_uri)
            register_in_mlflow(c.settings.tracking_uri, world, work / "artifacts")
            gateways = []
            for n in range(2):
                port = free_port()
                cmd = [sys.executable, "-m", "agents.entrypoints.gateway", "--port", str(port)]
                proc = stack.enter_context(started(cmd, env, work / f"gateway-{n}.log"))
                gateways.append(f"http://127.0.0.1:{port}")
                ready(f"{gateways[-1]}/healthz", proc)
            revisions = Revisions(url, gateways, TOKEN)
            revisions.thread.start()
            begun = time.time()
            load_cmd = [sys.executable, __file__, "load", ",".join(gateways), ",".join(names)]
            load = stack.enter_context(started([*load_cmd, str(rate)], env, work / "load.log"))
            watch = [sys.executable, "-m", "agents.entrypoints.cli", "watch"]
            watch += ["--interval", "1", "--json"]
            watched = [work / f"watch-{n}.log" for n in range(2)]
            first = stack.enter_context(started(watch, env, watched[0]))
            wait_for(lambda: lease_holder(watched[0]), 120, "the first watcher never ticked")
            second = stack.enter_context(started(watch, env, watched[1]))
            time.sleep(seconds / 2)
            stop(first)  # the holder goes; the standby takes over on its next look at the lease
            handed = time.monotonic()
            wait_for(lambda: lease_holder(watched[1]), 120, "the second watcher never took over")
            takeover = time.monotonic() - handed
            time.sleep(max(0.0, seconds / 2 - takeover))
            stop(load)  # it prints its counts as it stops
            time.sleep(2)  # the watcher's last tick over the last figures
            stop(second)
            revisions.stop.set()
            revisions.thread.join(timeout=10)
            loaded = json.loads((work / "load.log").read_text().splitlines()[-1])
            events = audit_events(c.session_factory)
            phases = rollout_phases(c.session_factory)
            if logs is not None:  # the processes' output, for a look afterwards
                logs.mkdir(parents=True, exist_ok=True)
                for log in work.glob("*.log"):
                    shutil.copy(log, logs / log.name)
        return report(events, phases, revisions.delays(begun), loaded, takeover, set(broken))


def audit_events(factory: Any) -> Counter[tuple[str, str, str]]:
    """(action, subject, detail) of the watchers' actions, counted."""
    from sqlalchemy import select

    from database.models import AuditEventRow

    found: Counter[tuple[str, str, str]] = Counter()
    with factory() as session:
        rows = session.execute(
            select(AuditEventRow.action, AuditEventRow.subject, AuditEventRow.payload).where(
                AuditEventRow.action.in_(ACTIONS)
            )
        )
        for action, subject, payload in rows:
            detail = str(payload.get("percent", "")) if action == "canary_advanced" else ""
            found[action, subject, detail] += 1
    return found


def rollout_phases(factory: Any) -> dict[str, str]:
    from sqlalchemy import select

    from database.models import RolloutRow

    with factory() as session:
        return dict(session.execute(select(RolloutRow.model_name, RolloutRow.phase)).all())


def report(
    events: Counter[tuple[str, str, str]],
    phases: dict[str, str],
    delays: list[float],
    loaded: dict[str, Any],
    takeover: float,
    broken: set[str],
) -> dict[str, Any]:
    """Print the fleet's figures and return them."""
    doubles = {f"{a} {s} {d}".strip(): n for (a, s, d), n in events.items() if n > 1}
    by_action = Counter(a for (a, _, _) in events.elements())
    rolled = {s for (a, s, _) in events if a == "rolled_back"}
    statuses = loaded["statuses"]
    failures = sum(n for status, n in statuses.items() if status != "200")
    print(f"audit events of the watchers' actions: {dict(sorted(by_action.items()))}")
    print(
        f"actions recorded more than once (double actions): {len(doubles)}"
        + (f" {doubles}" if doubles else "")
    )
    print(
        f"failing canaries rolled back: {len(rolled & broken)} of {len(broken)}; "
        f"healthy canaries rolled back: {len(rolled - broken)}; "
        f"rollout phases: {dict(sorted(Counter(phases.values()).items()))}"
    )
    if delays:
        ordered = sorted(delays)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(
            f"table written -> both gateways serve it: median {statistics.median(ordered):.3f} s, "
            f"p95 {p95:.3f} s, max {ordered[-1]:.3f} s over {len(ordered)} revisions "
            f"(seen every {POLL:g} s)"
        )
    print(
        f"load: {loaded['sent']} requests, {failures} client-visible failures {statuses}; "
        f"lease handed over in {takeover:.1f} s"
    )
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    return {
        "events": dict(by_action),
        "double_actions": doubles,
        "rolled_back": sorted(rolled),
        "phases": phases,
        "revision_delays": delays,
        "load": loaded,
        "takeover_seconds": takeover,
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        load_main(sys.argv[2:])
