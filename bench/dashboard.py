"""What a dashboard page costs the ops API, against the JSON it is built from: ``GET /v1/status``
(bearer token; the baseline) and ``GET /ui/``, ``/ui/models/NAME`` (with its charts) and the
model page's live fragment (session cookie), in process over one home whose models each have a
canary judged ``--checks`` times (rows as the monitor writes them; no servers, no MLflow).

Rounds alternate the arms; the figures are medians, with each page's ratio to the baseline of
the same run. It prints figures; it asserts nothing. The machine is shared and has 2 cores:
compare the arms of one run, not runs.

    .venv/bin/python bench/dashboard.py --models 5 --checks 200 --rounds 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
for quiet in ("BENTOML_DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
    os.environ[quiet] = "1"

from fastapi.testclient import TestClient  # noqa: E402
from tests.access_fixtures import issue_tokens_in_process  # noqa: E402
from tests.integration.db_helpers import add_version, deployment_row  # noqa: E402
from tests.web_login import ui_login  # noqa: E402

from agents.bootstrap import bootstrap  # noqa: E402
from agents.entrypoints.api import create_app  # noqa: E402
from agents.settings import Settings  # noqa: E402
from database import migrate  # noqa: E402
from database.models import HealthCheckRow  # noqa: E402
from lifecycle.ports import Routes  # noqa: E402
from lifecycle.records import utcnow  # noqa: E402
from lifecycle.stages import DeploymentStatus, ModelStage  # noqa: E402


def side(p95: float, errors: float) -> dict[str, float]:
    return {"requests": 100, "errors": errors * 100, "error_rate": errors, "p50_ms": p95 / 2,
            "p95_ms": p95, "p99_ms": p95 * 1.4}  # fmt: skip


def populate(c: object, models: int, checks: int) -> list[str]:
    names = []
    for m in range(models):
        name = f"model_{m}"
        for version in ("1", "2"):
            add_version(c.session_factory, name, version, ModelStage.PRODUCTION)  # type: ignore[attr-defined]
        stable, canary = f"{name}-stable", f"{name}-canary"
        start = utcnow() - timedelta(seconds=checks * 5)
        with c.uow() as uow:  # type: ignore[attr-defined]
            for dep, version, strategy in ((stable, "1", "direct"), (canary, "2", "canary")):
                row = deployment_row(dep, DeploymentStatus.ACTIVE, name, version)
                row.strategy, row.target_stage = strategy, ModelStage.PRODUCTION.value
                uow.deployments.add(row)
            for i in range(checks):
                uow.session.add(
                    HealthCheckRow(
                        deployment_id=canary, model_name=name, tick_id=f"{name}-{i}",
                        checked_at=start + timedelta(seconds=5 * i), status="passed",
                        action="wait", message="within limits",
                        metrics={"candidate": side(12 + i % 7, 0.01), "baseline": side(10, 0)},
                    )
                )  # fmt: skip
            uow.commit()
        c.router.save(Routes(name, {stable: 90, canary: 10}, stable_deployment_id=stable), "b")  # type: ignore[attr-defined]
        names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=5)
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="deployer-bench-ui-")) / "home"
    settings = Settings(DEPLOYER_HOME=str(home), DEPLOYER_GATEWAY_TOKEN="bench-token-0123")
    settings.ensure_home()
    migrate.upgrade(settings.database_url)
    c = bootstrap(settings)
    tokens = issue_tokens_in_process(c, {"vera": "viewer"})
    names = populate(c, args.models, args.checks)
    client = TestClient(create_app(c))
    ui_login(client, tokens["vera"])
    bearer = {"Authorization": f"Bearer {tokens['vera']}"}
    arms = {
        "GET /v1/status (JSON, baseline)": lambda: client.get("/v1/status", headers=bearer),
        "GET /ui/ (overview)": lambda: client.get("/ui/"),
        f"GET /ui/models/{names[0]} (4 charts)": lambda: client.get(f"/ui/models/{names[0]}"),
        "GET ... ?fragment=1 (live part)": lambda: client.get(f"/ui/models/{names[0]}?fragment=1"),
    }
    times: dict[str, list[float]] = {k: [] for k in arms}
    for call in arms.values():  # warm-up: imports, templates, the first queries
        assert call().status_code == 200
    for _ in range(args.rounds):
        for label, call in arms.items():
            start = time.perf_counter()
            answer = call()
            times[label].append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, answer.text
    base = statistics.median(times[next(iter(arms))])
    print(f"{args.models} models, a canary each judged {args.checks} times; "
          f"median of {args.rounds} rounds, milliseconds")  # fmt: skip
    for label, values in times.items():
        median = statistics.median(values)
        print(f"  {label:<45} {median:8.1f} ms   x{median / base:.2f} of the baseline")
    c.close()


if __name__ == "__main__":
    main()
