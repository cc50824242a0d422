"""Quality-from-feedback benchmark: how long recording a batch of labels and judging a model's
quality (the one join of labels with captured predictions, then the metrics) take on a real
SQLite state database, for growing numbers of labelled predictions. It prints figures; it
asserts nothing. The watcher pays the judgement once per model per tick.

    PYTHONPATH=src .venv/bin/python bench/feedback_quality.py --sizes 1000 10000 50000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from agents.bootstrap import Container, bootstrap
from agents.handlers.feedback import judge_quality, record_feedback
from agents.queries.quality import quality_report
from agents.settings import Settings
from database import migrate
from database.models import DeploymentRow, ModelVersionRow
from database.models_watch import PredictionRow
from lifecycle.records import utcnow


def home(root: Path) -> Container:
    settings = Settings(DEPLOYER_HOME=str(root / "home"))
    settings.ensure_home()
    migrate.upgrade(settings.database_url)
    c = bootstrap(settings)
    with c.uow() as uow:
        uow.models.add(
            ModelVersionRow(
                model_version_id="iris/1",
                model_name="iris",
                version="1",
                stage="production",
                metrics={"accuracy": 0.93},
                params={},
                success_criteria={},
            )
        )
        uow.flush()
        uow.deployments.add(
            DeploymentRow(
                deployment_id="iris-v1-aaaa",
                model_version_id="iris/1",
                model_name="iris",
                model_version="1",
                target_stage="production",
                endpoint_name="iris-v1-aaaa",
                status="active",
                deployed_by="bench",
            )
        )
        uow.commit()
    return c


def captured(c: Container, n: int) -> list[str]:
    ids = [f"req-{i:08d}" for i in range(n)]
    now = utcnow()
    with c.uow() as uow:
        uow.session.add_all(
            PredictionRow(
                request_id=rid,
                model_name="iris",
                version="1",
                deployment_id="iris-v1-aaaa",
                captured_at=now - timedelta(seconds=i % 3000),
                latency_ms=3.0,
                status=200,
                inputs={"inputs": [[5.1, 3.5, 1.4, 0.2]]},
                output={"predictions": [i % 3]},
            )
            for i, rid in enumerate(ids)
        )
        uow.commit()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{'labelled':>9} {'import s':>9} {'show s':>8} {'tick s':>8}  (medians, SQLite)")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            c = home(Path(tmp))
            ids = captured(c, n)
            rows = [(f"line {i + 2}", rid, (i % 3) if i % 10 else 0) for i, rid in enumerate(ids)]
            start = time.perf_counter()
            record_feedback(c, "iris", rows, "bench")
            imported = time.perf_counter() - start
            shows, ticks = [], []
            for _ in range(args.rounds):
                start = time.perf_counter()
                quality_report(c, "iris", 3600)
                shows.append(time.perf_counter() - start)
                start = time.perf_counter()
                judge_quality(c, "iris", "bench")
                ticks.append(time.perf_counter() - start)
            c.close()
        show, tick = statistics.median(shows), statistics.median(ticks)
        print(f"{n:>9} {imported:>9.3f} {show:>8.3f} {tick:>8.3f}")


if __name__ == "__main__":
    main()
