"""Control-plane benchmark: register, package, endpoint ready, predict p50, remove.

Our path (deployer's use cases over MLflow, the state DB, BentoML and the endpoint manager) is
timed against the same path done by hand with bare ``mlflow``, ``bentoml build`` and
``bentoml serve``. Each arm runs in its own subprocess with its own DEPLOYER_HOME/BENTOML_HOME,
arms alternate, and the figures are medians over rounds. Imports are not timed (both arms pay
them once per process). It prints figures; it asserts nothing.

    .venv/bin/python bench/control_plane.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STEPS = ("register", "package", "ready", "predict_p50_ms", "remove")
PREDICTS = 300


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def predict_p50_ms(url: str, rows: list[list[float]]) -> float:
    import httpx

    samples = []
    with httpx.Client(timeout=10) as client:
        for i in range(PREDICTS):
            body = {"instances": [rows[i % len(rows)]]}
            start = time.perf_counter()
            response = client.post(f"{url}/predict", json=body)
            samples.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
    return statistics.median(samples)


def arm_ours(work: Path) -> dict[str, float]:
    """deployer's own path: register (MLflow + DB), package, endpoint, predict, remove."""
    os.environ["DEPLOYER_HOME"] = str(work / "home")
    from agents.bootstrap import bootstrap
    from agents.handlers.registration import register_version
    from agents.handlers.serving import package_version
    from database import migrate
    from mlops.training import train_and_log

    c = bootstrap()
    c.settings.ensure_home()
    migrate.upgrade(c.settings.database_url)
    trained = train_and_log(c.settings.tracking_uri, artifact_root=c.settings.artifact_root)
    rows = trained.sample.values.tolist()
    t: dict[str, float] = {}
    t["register"], _ = timed(
        lambda: register_version(c.uow, c.registry, "bench", trained.model_uri, "bench")
    )
    t["package"], packaged = timed(lambda: package_version(c, "bench", "1", "bench"))
    t["ready"], endpoint = timed(lambda: c.endpoints.create("bench-1", packaged["bento_tag"]))
    try:
        t["predict_p50_ms"] = predict_p50_ms(endpoint.url, rows)
    except BaseException:
        c.endpoints.remove(endpoint)
        raise
    t["remove"], _ = timed(lambda: c.endpoints.remove(endpoint))
    return t


def arm_bare(work: Path) -> dict[str, float]:
    """The same by hand: mlflow.register_model, bentoml import + build, bentoml serve."""
    os.environ["BENTOML_HOME"] = str(work / "bentoml")
    import bentoml
    import mlflow

    from mlops.processes import free_port, terminate_tree, wait_http_ok
    from mlops.training import train_and_log

    uri = f"sqlite:///{work / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    trained = train_and_log(uri, artifact_root=work / "artifacts")
    mlflow.set_tracking_uri(uri)
    rows = trained.sample.values.tolist()
    t: dict[str, float] = {}
    t["register"], _ = timed(lambda: mlflow.register_model(trained.model_uri, "bench"))

    def package() -> str:
        bentoml.mlflow.import_model("bench-bare", "models:/bench/1")
        bento = bentoml.bentos.build(
            "service:Bare",
            build_ctx=str(HERE / "bare_service"),
            include=["service.py"],
            models=["bench-bare:latest"],
            python={"lock_packages": False, "packages": []},
        )
        return str(bento.tag)

    t["package"], tag = timed(package)
    port = free_port()

    def serve() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bentoml",
                "serve",
                tag,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert wait_http_ok(f"http://127.0.0.1:{port}/readyz", 120, lambda: proc.poll() is None)
        return proc

    t["ready"], proc = timed(serve)
    try:
        t["predict_p50_ms"] = predict_p50_ms(f"http://127.0.0.1:{port}", rows)
    except BaseException:
        terminate_tree(proc.pid)
        raise
    t["remove"], _ = timed(lambda: (terminate_tree(proc.pid), proc.wait(10)))
    return t


def run_arm(arm: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{arm}-") as work:
        env = {
            **os.environ,
            "BENTOML_DO_NOT_TRACK": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "MLFLOW_LOGGING_LEVEL": "WARNING",
        }
        out = subprocess.run(
            [sys.executable, "-W", "ignore", __file__, "--arm", arm, "--work", work],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"{arm} arm failed:\n{out.stderr[-3000:]}")
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def report(results: dict[str, list[dict[str, float]]]) -> None:
    med = {
        arm: {s: statistics.median(r[s] for r in runs) for s in STEPS}
        for arm, runs in results.items()
    }
    for arm in med:
        med[arm]["package+ready"] = med[arm]["package"] + med[arm]["ready"]
    rounds = len(results["ours"])
    print(f"control plane, median of {rounds} rounds (seconds; predict in ms over {PREDICTS})")
    print(f"{'step':<16}{'ours':>10}{'bare':>10}{'ours/bare':>11}")
    for step in (*STEPS, "package+ready"):
        ours, bare = med["ours"][step], med["bare"][step]
        print(f"{step:<16}{ours:>10.3f}{bare:>10.3f}{ours / bare:>10.2f}x")
    total = sum(med["ours"][s] for s in STEPS if s != "predict_p50_ms")
    total_bare = sum(med["bare"][s] for s in STEPS if s != "predict_p50_ms")
    print(f"{'whole path':<16}{total:>10.3f}{total_bare:>10.3f}{total / total_bare:>10.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--arm", choices=["ours", "bare"])
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.arm:
        timings = (arm_ours if args.arm == "ours" else arm_bare)(Path(args.work))
        print(json.dumps(timings))
        return
    results: dict[str, list[dict[str, float]]] = {"ours": [], "bare": []}
    for i in range(args.rounds):
        order = ("ours", "bare") if i % 2 == 0 else ("bare", "ours")
        for arm in order:
            results[arm].append(run_arm(arm))
            print(
                f"round {i + 1} {arm}: "
                + ", ".join(f"{k}={v:.3f}" for k, v in results[arm][-1].items()),
                file=sys.stderr,
            )
    report(results)


if __name__ == "__main__":
    main()
