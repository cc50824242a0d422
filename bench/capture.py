"""Prediction capture's cost in the gateway: CPU per request with capture off and at 10 %.

One `deployer gateway` process over a SQLite state DB routes iris to a stand-in model server
(a small aiohttp app in its own process answering like `bentoml serve`, so the figure is the
gateway's alone); bench/loadgen.py sends the load from a third process. Arms alternate over
rounds in the same run and the same gateway process: the capture percent is changed in the
state DB and the bench waits until the gateway's /healthz shows it applied (no restart).
For each arm it prints the median over rounds of the gateway's CPU time per request (its
process's CPU counters: on a noisy 2-core box the stable figure), requests per second and
p50, and the difference the capture arm costs. It asserts nothing.

    .venv/bin/python bench/capture.py --rounds 5 --requests 4000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gateway import body_bytes, cpu_seconds, gateway_process, load, log  # noqa: E402

MODEL = "iris"
UPSTREAM = textwrap.dedent(
    """
    import json, sys
    from aiohttp import web
    ANSWER = json.dumps({"predictions": [0, 2, 1] * 8, "model_name": "iris",
                         "model_version": "1", "deployment_id": "bench-d1"}).encode()
    async def predict(request):
        await request.read()
        return web.Response(body=ANSWER, content_type="application/json")
    app = web.Application(client_max_size=2**21)
    app.router.add_post("/predict", predict)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
    """
)


def state_db(url: str, upstream: str) -> Any:
    """A migrated state DB with iris v1 in production, one deployment at ``upstream``, a
    routing table sending it everything; returns the session factory."""
    from database import migrate
    from database.audit import AUDIT_KEY_INFO
    from database.engine import make_engine, make_session_factory
    from database.models import DeploymentRow, ModelVersionRow
    from database.routing import DbRouter
    from database.uow import SqlAlchemyUnitOfWork
    from lifecycle.ports import Routes

    migrate.upgrade(url)
    factory = make_session_factory(make_engine(url), {AUDIT_KEY_INFO: lambda: b"k" * 32})
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.models.add(
            ModelVersionRow(
                model_version_id=f"{MODEL}/1",
                model_name=MODEL,
                version="1",
                stage="production",
                metrics={"accuracy": 0.93},
                params={},
                success_criteria={"criteria": []},
                artifact_uri="models:/iris/1",
                run_id="r1",
                experiment_id="0",
            )
        )
        uow.flush()
        uow.deployments.add(
            DeploymentRow(
                deployment_id="bench-d1",
                model_version_id=f"{MODEL}/1",
                model_name=MODEL,
                model_version="1",
                target_stage="production",
                endpoint_name="iris-bench-d1",
                endpoint_url=upstream,
                status="active",
                deployed_by="bench",
            )
        )
        uow.commit()
    DbRouter(factory, "bench").save(Routes(MODEL, {"bench-d1": 100}), "bench")
    return factory


def set_percent(factory: Any, gateway: str, percent: float) -> None:
    from database.capture import set_capture
    from database.uow import SqlAlchemyUnitOfWork

    with SqlAlchemyUnitOfWork(factory) as uow:
        set_capture(uow, MODEL, percent, "bench")
        uow.commit()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        health = httpx.get(f"{gateway}/healthz", trust_env=False).json()
        if health["capture"]["percents"].get(MODEL, 0.0) == percent:
            return
        time.sleep(0.1)
    raise SystemExit("the gateway did not apply the capture percent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    from mlops.processes import free_port, port_in_use, terminate_tree

    arms = {"capture off": 0.0, "capture 10%": 10.0}
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        work = Path(tmp)
        body_file = work / "body.json"
        body_file.write_bytes(body_bytes())
        up_port, gw_port = free_port(), free_port()
        upstream = subprocess.Popen(
            [sys.executable, "-c", UPSTREAM, str(up_port)], start_new_session=True
        )
        try:
            deadline = time.monotonic() + 30
            while not port_in_use(up_port, "127.0.0.1") and time.monotonic() < deadline:
                time.sleep(0.1)
            url = f"sqlite:///{work / 'deployer.db'}"
            factory = state_db(url, f"http://127.0.0.1:{up_port}")
            env = {
                **os.environ,
                "DEPLOYER_HOME": str(work / "home"),
                "DEPLOYER_DATABASE_URL": url,
                "DEPLOYER_GATEWAY_TOKEN": "bench-admin-token-0123",
                "DEPLOYER_AUDIT_KEY": "k" * 32,
            }
            gateway = f"http://127.0.0.1:{gw_port}"
            predict = f"{gateway}/v1/models/{MODEL}/predict"
            results: dict[str, list[dict[str, float]]] = {arm: [] for arm in arms}
            with gateway_process(env, gw_port) as proc:
                load(predict, 500, args.concurrency, body_file)  # warm up
                for r in range(args.rounds):
                    for arm, percent in arms.items():
                        set_percent(factory, gateway, percent)
                        before = cpu_seconds([proc.pid])
                        figures = load(predict, args.requests, args.concurrency, body_file)
                        time.sleep(0.7)  # the flush of this round's samples is its own cost
                        used = cpu_seconds([proc.pid]) - before
                        figures["cpu_ms"] = used * 1000 / args.requests
                        results[arm].append(figures)
                        log(f"round {r + 1} {arm}: {json.dumps(figures)}")
                health = httpx.get(f"{gateway}/healthz", trust_env=False).json()
        finally:
            terminate_tree(upstream.pid)
    print(
        f"gateway CPU per request, median of {args.rounds} rounds of {args.requests} "
        f"requests at concurrency {args.concurrency} (same process, arms alternating):"
    )
    medians = {}
    for arm, rounds in results.items():
        cpu = statistics.median(x["cpu_ms"] for x in rounds)
        rps = statistics.median(x["rps"] for x in rounds)
        p50 = statistics.median(x["p50_ms"] for x in rounds)
        medians[arm] = cpu
        print(f"  {arm:12s}  {cpu:.4f} ms CPU/request  {rps:7.0f} req/s  p50 {p50:.2f} ms")
    extra = medians["capture 10%"] - medians["capture off"]
    print(f"  capture at 10% costs {extra:+.4f} ms CPU per request (budget 0.05 ms)")
    print(f"  the gateway's capture counters at the end: {json.dumps(health['capture'])}")


if __name__ == "__main__":
    main()
