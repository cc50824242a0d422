"""The shadow latency gate against a shadow that is exactly as fast as the primary.

A real stack (tests/gateway_stack.py): v1 serves users through `deployer gateway`, and a second
`bentoml serve` of the same v1 is its shadow, so any gap between the two p95s the gateway
measures on the same mirrored requests is the measurement's, not the model's. For each client
concurrency it sends the requests, reads the gateway's two latency histograms for exactly those
requests (the difference of its cumulative figures) and prints both p95s, their ratio and the
gate's verdict at the default policy (1.2x or 5 ms). It asserts nothing.

    PYTHONPATH=src .venv/bin/python bench/shadow_latency_gate.py --requests 300
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.gateway_stack import MODEL, admin, gateway_stack, rows_of  # noqa: E402

from lifecycle.comparing_gates import shadow_latency_gate  # noqa: E402
from lifecycle.gates import PromotionPolicy  # noqa: E402
from lifecycle.latency import quantile  # noqa: E402
from lifecycle.metrics import ShadowStats  # noqa: E402
from lifecycle.stages import ModelStage  # noqa: E402


def figures(ops: httpx.Client, shadow: str) -> dict[str, Any]:
    for row in ops.get("/admin/stats").json()["shadows"]:
        if row["shadow_deployment_id"] == shadow:
            return dict(row)
    return {}


def since(after: dict[str, Any], before: dict[str, Any]) -> ShadowStats:
    """The figures of the requests between two reads of the gateway's cumulative ones."""
    return ShadowStats.from_figures(after) + ShadowStats(
        -int(before.get("compared", 0)),
        -int(before.get("agreed", 0)),
        -int(before.get("shadow_errors", 0)),
        {int(k): -n for k, n in before.get("primary_latency_histogram", {}).items()},
        {int(k): -n for k, n in before.get("shadow_latency_histogram", {}).items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    policy = PromotionPolicy()
    with tempfile.TemporaryDirectory() as tmp, gateway_stack(Path(tmp)) as stack:
        primary = stack.start("v1", "1")
        shadow = stack.start("twin", "1", ModelStage.SHADOW)
        url = stack.gateway()
        rows = rows_of(stack.models["1"])
        with admin(url) as ops:
            table = {
                "weights": {primary: 100},
                "shadow_deployment_id": shadow,
                "shadow_percent": 100,
            }
            ops.put(f"/admin/routes/{MODEL}", json=table).raise_for_status()
            print("concurrency  mirrored  primary_p95_ms  shadow_p95_ms  ratio  verdict")
            for concurrency in args.concurrency:
                before = figures(ops, shadow)
                bodies = [{"instances": [rows[i % len(rows)]]} for i in range(args.requests)]

                def send(body: dict[str, Any]) -> int:
                    with httpx.Client(timeout=30, trust_env=False) as client:
                        return client.post(
                            f"{url}/v1/models/{MODEL}/predict", json=body
                        ).status_code

                with ThreadPoolExecutor(concurrency) as pool:
                    list(pool.map(send, bodies))
                time.sleep(2.0)  # the last mirrored calls finish
                stats = since(figures(ops, shadow), before)
                p, s = quantile(stats.primary_latency, 0.95), quantile(stats.shadow_latency, 0.95)
                verdict = shadow_latency_gate(
                    stats, policy.shadow_latency_ratio, policy.shadow_latency_slack_ms, 1
                )
                ratio = f"{s / p:.2f}" if p and s else "-"
                print(
                    f"{concurrency:>11}  {stats.requests:>8}  {p!s:>14}  {s!s:>13}  {ratio:>5}  "
                    f"{verdict.status.value}"
                )


if __name__ == "__main__":
    main()
