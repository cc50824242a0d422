"""Gateway benchmark: direct to `bentoml serve`, through a bare aiohttp forwarder, through our
gateway, and through nginx.

The same load (a ~1 kB JSON body) goes four ways in one run, arms alternating over rounds:

1. direct to one `bentoml serve` endpoint;
2. through a bare aiohttp forwarder (`bench/forwarder.py`: aiohttp server + pooled keep-alive
   ClientSession on uvloop, nothing else): the fair baseline for our gateway's own logic;
3. through our gateway with a real routing table in the state DB (two deployments at 90/10
   weights, metrics and the DB flush on);
4. through Debian's nginx as a plain reverse proxy with upstream keepalive (the reference);
   installed with apt if missing, skipped with a message if that fails.

For each concurrency (1 for latency, 16 for throughput) it prints the median over rounds of
p50/p95/p99 and requests per second, the latency each proxy adds over direct, the throughput
ratio to direct, and each proxy's CPU time per request from its processes' CPU counters (on a
noisy 2-core box that last figure is the stable one). Then, per concurrency, our gateway against
the bare forwarder of the same run: CPU per request as a ratio, added p50 over the bare
forwarder's, and throughput over direct's. It asserts nothing.

    .venv/bin/python bench/gateway.py --rounds 3 --requests 3000

``--profile FILE`` then runs py-spy (``--py-spy``: its path; by default the one beside this
Python, which the ``ray`` extra installs) on the gateway and on the bare forwarder for
``--profile-seconds`` each under load at ``--profile-concurrency`` (1), writes each arm's
flame graph (``--format raw`` text: collapsed stacks) beside FILE (``FILE-STEM-gateway.txt``,
``FILE-STEM-bare.txt``), and prints the top functions by own time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
TOKEN = "bench-admin-token-0123"
GATEWAY_COMMAND = [sys.executable, "-m", "agents.entrypoints.gateway"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def body_bytes() -> bytes:
    """About 1 kB of iris rows in the DESIGN.md section 6 body."""
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
    body: dict[str, Any] = {"instances": []}
    while len(json.dumps(body)) < 1000:
        body["instances"].append(rows[len(body["instances"]) % 3])
    return json.dumps(body).encode()


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of these processes and their children, in nanoseconds' precision where the
    kernel gives it: the sum of every thread's ``/proc/PID/task/TID/schedstat`` (the time
    on a CPU; ``cpu_times`` counts in 10 ms clock ticks, which made a 10 s idle reading of
    2 ms a second a choice between 1, 2 and 3). Falls back to ``cpu_times``."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            family = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
        for member in family:
            total += _on_cpu(member)
    return total


def _on_cpu(proc: psutil.Process) -> float:
    """One process's CPU seconds: its threads' schedstat, else user + system ticks."""
    try:
        tasks = os.listdir(f"/proc/{proc.pid}/task")
        ns = 0
        for tid in tasks:
            with open(f"/proc/{proc.pid}/task/{tid}/schedstat") as handle:
                ns += int(handle.read().split()[0])
        return ns / 1e9
    except (OSError, ValueError, IndexError):
        try:
            times = proc.cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)


def cpu_split(pids: list[int]) -> tuple[float, float]:
    """User and system CPU of these processes and their children."""
    user = system = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                times = p.cpu_times()
                user, system = user + times.user, system + times.system
        except psutil.Error:
            continue
    return user, system


@contextmanager
def serving_stack(work: Path) -> Iterator[dict[str, Any]]:
    """A home with one model version, two endpoints and a routing table; yields their URLs."""
    os.environ["DEPLOYER_HOME"] = str(work / "home")
    os.environ["DEPLOYER_GATEWAY_TOKEN"] = TOKEN
    os.environ.pop("DEPLOYER_DATABASE_URL", None)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    from agents.bootstrap import bootstrap
    from agents.handlers.registration import register_version
    from agents.handlers.serving import start_endpoint, stop_endpoint
    from database import migrate
    from lifecycle.ports import Routes
    from mlops.training import train_and_log

    c = bootstrap()
    c.settings.ensure_home()
    migrate.upgrade(c.settings.database_url)
    trained = train_and_log(c.settings.tracking_uri, artifact_root=c.settings.artifact_root)
    register_version(c.uow, c.registry, "iris", trained.model_uri, "bench")
    with c.uow() as uow:  # set-up: only production deployments take users' traffic
        uow.models.get("iris", "1").stage = "production"
        uow.commit()
    started: list[str] = []
    try:
        for _ in range(2):
            started.append(start_endpoint(c, "iris", "1", "bench")["deployment_id"])
        c.router.set_routes(Routes("iris", {started[0]: 90, started[1]: 10}, None, 0.0, started[0]))
        with c.uow() as uow:
            direct = uow.deployments.get(started[0]).endpoint_url
        yield {"direct": direct, "env": dict(os.environ)}
    finally:
        for deployment_id in started:
            stop_endpoint(c, deployment_id, "bench", "bench over")
        c.close()


@contextmanager
def gateway_process(
    env: dict[str, str], port: int, command: list[str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    proc = subprocess.Popen(
        [*(command or GATEWAY_COMMAND), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        from mlops.processes import wait_http_ok

        if not wait_http_ok(f"http://127.0.0.1:{port}/healthz", 60, lambda: proc.poll() is None):
            raise SystemExit("the gateway did not start")
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


@contextmanager
def forwarder_process(port: int, upstream: str) -> Iterator[subprocess.Popen[bytes]]:
    """The bare aiohttp forwarder (bench/forwarder.py) to ``upstream``."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "forwarder.py"),
            "--port",
            str(port),
            "--upstream",
            f"{upstream}/predict",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        from mlops.processes import port_in_use

        deadline = time.monotonic() + 30
        while not port_in_use(port) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        if proc.poll() is not None or not port_in_use(port):
            raise SystemExit("the bare forwarder did not start")
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def find_nginx() -> str | None:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found:
        return found
    log("nginx is missing: installing it with apt (the reference arm)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    for command in (
        [*sudo, "apt-get", "install", "-y", "-q", "nginx-light"],
        [*sudo, "apt-get", "install", "-y", "-q", "nginx"],
    ):
        if subprocess.run(command, env=env, capture_output=True, check=False).returncode == 0:
            break
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if not found:
        log("could not install nginx: skipping the nginx arm")
    return found


@contextmanager
def nginx_process(
    nginx: str, work: Path, port: int, upstream: str
) -> Iterator[subprocess.Popen[bytes]]:
    prefix = work / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    host_port = upstream.removeprefix("http://")
    conf = prefix / "nginx.conf"
    conf.write_text(
        textwrap.dedent(
            f"""
            worker_processes 1;
            pid {prefix}/nginx.pid;
            error_log {prefix}/logs/error.log warn;
            events {{ worker_connections 1024; }}
            http {{
                access_log off;
                client_body_temp_path {prefix}/body;
                proxy_temp_path {prefix}/proxy;
                upstream model {{ server {host_port}; keepalive 32; }}
                server {{
                    listen 127.0.0.1:{port};
                    location /v1/models/iris/predict {{
                        proxy_pass http://model/predict;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                    }}
                }}
            }}
            """
        )
    )
    user = "" if os.geteuid() != 0 else "user root;"
    if user:
        conf.write_text(user + "\n" + conf.read_text())
    proc = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        from mlops.processes import port_in_use

        deadline = time.monotonic() + 10
        while not port_in_use(port) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        if proc.poll() is not None:
            raise SystemExit(f"nginx did not start: {(prefix / 'logs/error.log').read_text()}")
        yield proc
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load(url: str, requests: int, concurrency: int, body_file: Path) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "loadgen.py"),
            url,
            "--requests",
            str(requests),
            "--concurrency",
            str(concurrency),
            "--body-file",
            str(body_file),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--profile", type=Path, help="py-spy the gateway under load into FILE")
    parser.add_argument("--profile-seconds", type=float, default=20.0)
    parser.add_argument(
        "--profile-concurrency",
        type=int,
        default=1,
        help="the load's concurrency while profiling (1: the CPU target's figure)",
    )
    parser.add_argument(
        "--profile-native",
        action="store_true",
        help="py-spy --native (C frames too; pauses the process to sample) instead of --gil",
    )
    parser.add_argument(  # the ray extra (scripts/setup --ray) installs py-spy beside python
        "--py-spy", default=str(Path(sys.executable).with_name("py-spy"))
    )
    parser.add_argument("--no-nginx", action="store_true", help="leave the nginx arm out")
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="each round sends the arms' requests in turn, one after the other (every user "
        "cycling over the arms in a new random order each turn), so a moment of load falls on "
        "all arms alike; at concurrency 16 each arm then has about 16 / arms requests in flight",
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        action="append",
        help="add a 'before' arm: a second gateway over the same table running the sources in "
        "this directory (e.g. `git archive c5a16cb src | tar -x -C /tmp/before`; its slim entry "
        "point, else the CLI); given again, arms 'before2', 'before3', ... (one change at a "
        "time, measured in the same rounds)",
    )
    parser.add_argument(
        "--cli-gateway",
        action="store_true",
        help="start the gateway through `deployer gateway` (to measure code before issue 16)",
    )
    args = parser.parse_args()
    if args.cli_gateway:
        GATEWAY_COMMAND[:] = [sys.executable, "-m", "agents.entrypoints.cli", "gateway"]
    from mlops.processes import free_port

    nginx = None if args.no_nginx else find_nginx()
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        work = Path(tmp)
        body_file = work / "body.json"
        body_file.write_bytes(body_bytes())
        log(f"body: {len(body_file.read_bytes())} bytes; building the stack (two endpoints)")
        with (
            serving_stack(work) as stack,
            gateway_process(stack["env"], free_port()) as (gateway, gw_url),
            forwarder_process(bare_port := free_port(), stack["direct"]) as bare,
            contextlib.ExitStack() as extra,
        ):
            arms: dict[str, tuple[str, list[int]]] = {
                "direct": (f"{stack['direct']}/predict", []),
                "bare": (f"http://127.0.0.1:{bare_port}/v1/models/iris/predict", [bare.pid]),
                "gateway": (f"{gw_url}/v1/models/iris/predict", [gateway.pid]),
            }
            for index, baseline in enumerate(args.baseline_src or []):
                src = baseline.resolve()
                env = {**stack["env"], "PYTHONPATH": str(src)}
                slim = (src / "agents" / "entrypoints" / "gateway.py").exists()
                cli = [sys.executable, "-m", "agents.entrypoints.cli", "gateway"]
                command = GATEWAY_COMMAND if slim else cli  # sources before the slim entry point
                before, before_url = extra.enter_context(gateway_process(env, free_port(), command))
                name = "before" if index == 0 else f"before{index + 1}"
                arms[name] = (f"{before_url}/v1/models/iris/predict", [before.pid])
                log(f"arm {name}: {src}")
            time.sleep(2)
            ours = ("gateway", "before")
            proxies = {
                a: pids for a, (_, pids) in arms.items() if a.startswith(ours) or a == "bare"
            }
            idle_before = {a: cpu_seconds(pids) for a, pids in proxies.items()}
            time.sleep(10)
            idle = {a: (cpu_seconds(p) - idle_before[a]) * 100 for a, p in proxies.items()}
            idle_ms_per_s = idle["gateway"]
            log(f"idle (polling + flushing), ms CPU per second: {idle}")
            nx_port = free_port()
            nginx_ctx = nginx_process(nginx, work, nx_port, stack["direct"]) if nginx else None
            nginx_proc = nginx_ctx.__enter__() if nginx_ctx else None
            try:
                if nginx_proc is not None:
                    arms["nginx"] = (
                        f"http://127.0.0.1:{nx_port}/v1/models/iris/predict",
                        [nginx_proc.pid],
                    )
                results = run_rounds(arms, args, body_file)
            finally:
                if nginx_ctx is not None:
                    nginx_ctx.__exit__(None, None, None)
            if args.profile:
                for arm in ("gateway", "bare"):  # ours, then the bare forwarder's, same load
                    url, (pid,) = arms[arm]
                    out = args.profile.with_name(f"{args.profile.stem}-{arm}.txt")
                    profile(args, arm, pid, url, body_file, out)
    report(results, args, idle)
    start, end = load_at_start, os.getloadavg()
    print(
        f"\nload average (1/5/15 min) at the start: {start[0]:.1f}/{start[1]:.1f}/{start[2]:.1f}, "
        f"at the end: {end[0]:.1f}/{end[1]:.1f}/{end[2]:.1f} ({os.cpu_count()} cores)"
    )
    print(
        f"\ngateway idle cost (table polling every 0.5 s, figures flushed every 2 s): "
        f"{idle_ms_per_s:.2f} ms CPU per second; included in its cpu ms/req above"
        + "".join(f" ({a}: {v:.2f})" for a, v in idle.items() if a != "gateway")
    )


def profile(
    args: argparse.Namespace, arm: str, pid: int, url: str, body_file: Path, out: Path
) -> None:
    """py-spy one arm's process while load runs at ``--profile-concurrency``; print the top
    own-time frames."""
    # --gil: only samples holding the GIL (the loop waiting in epoll is not work); --native
    # keeps every sample with its C frames, idle ones included (epoll_wait at the top).
    mode = ["--native"] if args.profile_native else ["--nonblocking", "--gil"]
    spy = subprocess.Popen(
        [
            args.py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(args.profile_seconds)),
            "--rate",
            "500",
            "--format",
            "raw",
            "--output",
            str(out),
            *mode,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + args.profile_seconds
    while time.monotonic() < deadline and spy.poll() is None:
        load(url, 1000, args.profile_concurrency, body_file)
    spy.wait(timeout=60)
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    print(f"\npy-spy: {total} samples of the {arm} arm (concurrency {args.profile_concurrency})")
    print("top own time:")
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:25]:
        print(f"  {100 * count / total:5.1f}%  {frame}")
    print("top inclusive time (our modules):")
    ours = [(f, n) for f, n in inclusive.items() if "mlops/gateway" in f or "lifecycle" in f]
    for frame, count in sorted(ours, key=lambda kv: -kv[1])[:15]:
        print(f"  {100 * count / total:5.1f}%  {frame}")


def run_rounds(
    arms: dict[str, tuple[str, list[int]]], args: argparse.Namespace, body_file: Path
) -> dict[int, dict[str, list[dict[str, float]]]]:
    results: dict[int, dict[str, list[dict[str, float]]]] = {
        c: {arm: [] for arm in arms} for c in args.concurrency
    }
    names = list(arms)
    if args.interleave:
        for round_number in range(args.rounds):
            for concurrency in args.concurrency:
                one_interleaved_round(arms, args, body_file, concurrency, results, round_number)
        return results
    for round_number in range(args.rounds):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for concurrency in args.concurrency:
            for arm in order:
                url, pids = arms[arm]
                before = cpu_seconds(pids)
                figures = load(url, args.requests, concurrency, body_file)
                if pids:
                    figures["cpu_ms_per_request"] = (
                        (cpu_seconds(pids) - before) * 1000 / figures["requests"]
                    )
                results[concurrency][arm].append(figures)
                log(
                    f"round {round_number + 1} c={concurrency} {arm}: "
                    + ", ".join(f"{k}={v:.3f}" for k, v in figures.items())
                )
    return results


def one_interleaved_round(
    arms: dict[str, tuple[str, list[int]]],
    args: argparse.Namespace,
    body_file: Path,
    concurrency: int,
    results: dict[int, dict[str, list[dict[str, float]]]],
    round_number: int,
) -> None:
    """One round of every arm at once, requests in turn (``--interleave``)."""
    names = list(arms)
    names = names[round_number % len(names) :] + names[: round_number % len(names)]
    before = {arm: cpu_split(arms[arm][1]) for arm in names}
    on_cpu = {arm: cpu_seconds(arms[arm][1]) for arm in names}
    options = ["--requests", str(args.requests), "--concurrency", str(concurrency)]
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "loadgen.py"),
            *(arms[a][0] for a in names),
            *options,
            "--body-file",
            str(body_file),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    by_url = json.loads(out.stdout.strip().splitlines()[-1])
    for arm in names:
        url, pids = arms[arm]
        figures = dict(by_url[url])
        if pids:
            (user, system), (user_then, system_then) = cpu_split(pids), before[arm]
            user, system = user - user_then, system - system_then
            used = cpu_seconds(pids) - on_cpu[arm]
            figures["cpu_ms_per_request"] = used * 1000 / figures["requests"]
            figures["user_ms_per_request"] = user * 1000 / figures["requests"]
            figures["system_ms_per_request"] = system * 1000 / figures["requests"]
        results[concurrency][arm].append(figures)
        log(
            f"round {round_number + 1} c={concurrency} {arm} (interleaved): "
            + ", ".join(f"{k}={v:.3f}" for k, v in figures.items())
        )


def report(
    results: dict[int, dict[str, list[dict[str, float]]]],
    args: argparse.Namespace,
    idle: dict[str, float],
) -> None:
    print(
        f"gateway bench: median of {args.rounds} rounds, {args.requests} requests per arm and "
        "round, ~1 kB body, loopback, 2-core noisy machine"
    )
    for concurrency, arms in results.items():
        med = {
            arm: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            for arm, runs in arms.items()
        }
        direct = med["direct"]
        print(f"\nconcurrency {concurrency}")
        print(
            f"{'arm':<9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>9}"
            f"{'+p50 ms':>9}{'rps/direct':>12}{'cpu ms/req':>12}{'failures':>10}"
        )
        for arm, m in med.items():
            added = m["p50_ms"] - direct["p50_ms"]
            cpu = m.get("cpu_ms_per_request")
            print(
                f"{arm:<9}{m['p50_ms']:>9.2f}{m['p95_ms']:>9.2f}{m['p99_ms']:>9.2f}{m['rps']:>9.0f}"
                f"{added if arm != 'direct' else 0:>9.2f}{m['rps'] / direct['rps']:>11.2f}x"
                f"{(f'{cpu:.3f}' if cpu is not None else '-'):>12}{m['failures']:>10.0f}"
            )
        baselines = [arm for arm in med if arm.startswith("before")]
        for name in baselines:
            old = med[name]
            print(
                f"{name} (same run): cpu/req {old['cpu_ms_per_request']:.3f} ms = "
                f"{old['cpu_ms_per_request'] / med['bare']['cpu_ms_per_request']:.2f}x bare; "
                f"added p50 over bare {old['p50_ms'] - med['bare']['p50_ms']:+.2f} ms; "
                f"throughput {old['rps'] / direct['rps']:.2f}x direct"
            )
        for name in [*baselines, "gateway"]:
            if name in arms:
                ratios = [
                    r["cpu_ms_per_request"] / b["cpu_ms_per_request"]
                    for r, b in zip(arms[name], arms["bare"], strict=True)
                ]
                print(
                    f"{name} / bare cpu per request, round by round (arms of a round run back "
                    f"to back): median {statistics.median(ratios):.2f}x, "
                    f"{min(ratios):.2f}-{max(ratios):.2f}x over {len(ratios)} rounds"
                )
        ours, bare = med["gateway"], med["bare"]
        print(
            f"gateway vs bare forwarder: cpu/req {ours['cpu_ms_per_request']:.3f} / "
            f"{bare['cpu_ms_per_request']:.3f} ms = "
            f"{ours['cpu_ms_per_request'] / bare['cpu_ms_per_request']:.2f}x (target <= 1.1x); "
            f"added p50 over bare {ours['p50_ms'] - bare['p50_ms']:+.2f} ms (target <= +0.2); "
            f"throughput {ours['rps'] / direct['rps']:.2f}x direct (target >= 0.95x at c=16)"
            + (
                " (interleaved: every arm gets the load generator's one rate, so throughput "
                "reads 1.00x; measure it without --interleave)"
                if args.interleave
                else ""
            )
        )
        if "bare" in idle:
            # The idle work (the table poll, the figures flush) costs CPU by the second, not by
            # the request: an arm that gets 100 requests a second (--interleave over several
            # arms) carries six times the share of one run flat out. Net of it, each arm's
            # measured idle rate over its round's length:
            net = {
                arm: statistics.median(
                    r["cpu_ms_per_request"] - idle.get(arm, 0.0) / r["rps"] for r in arms[arm]
                )
                for arm in idle
            }
            print(
                "cpu per request net of the idle work (idle ms a second / req/s), vs bare's: "
                + "; ".join(
                    f"{a} {net[a]:.3f} ms = {net[a] / net['bare']:.2f}x" for a in net if a != "bare"
                )
                + f" (bare {net['bare']:.3f} ms)"
            )
        split = [a for a, m in med.items() if "user_ms_per_request" in m]
        if split:  # --interleave measures both
            print(
                "user / system ms per request: "
                + "; ".join(
                    f"{a} {med[a]['user_ms_per_request']:.3f} / "
                    f"{med[a]['system_ms_per_request']:.3f}"
                    for a in split
                )
            )


if __name__ == "__main__":
    main()
