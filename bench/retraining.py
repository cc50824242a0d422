"""Retraining benchmark: how long one retraining run takes end to end in this process (the
window read and split, the example MLflow Project's run in its own Python process, the
registration, both versions loaded and scored on the held-out rows), and each step's share,
on a fresh SQLite home with iris v1 in production and a window of shifted, labelled traffic.

It prints figures; it asserts nothing. Each run trains for real (seconds).

    .venv/bin/python bench/retraining.py --runs 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from agents.bootstrap import Container, bootstrap
from agents.handlers import access
from agents.handlers.registration import register_version
from agents.handlers.retraining import retrain
from agents.handlers.retraining_policy import PolicyRequest, set_policy
from agents.settings import Settings
from database import migrate
from database.models_feedback import FeedbackRow
from database.models_watch import PredictionRow
from lifecycle.records import utcnow
from lifecycle.stages import ModelStage
from mlops.training import load_dataset, train_and_log

PROJECT = str(Path(__file__).resolve().parents[1] / "examples" / "retraining" / "iris")


def home(folder: Path) -> Container:
    settings = Settings(DEPLOYER_HOME=str(folder / "home"))
    settings.ensure_home()
    migrate.upgrade(settings.database_url)
    c = bootstrap(settings)
    access.ensure_first_admin(c, settings.user)
    trained = train_and_log(settings.tracking_uri, artifact_root=settings.artifact_root)
    register_version(c.uow, c.registry, "iris", trained.model_uri, "bench")
    c.registry.set_stage("iris", "1", ModelStage.PRODUCTION)
    with c.uow() as uow:
        row = uow.models.get("iris", "1")
        row.stage, row.label = ModelStage.PRODUCTION.value, "1.0.0"
        frame, target, _ = load_dataset("iris")
        frame["petal_length"] = frame["petal_length"] + 1.0
        now = utcnow()
        for n, (values, label) in enumerate(
            zip(frame.itertuples(index=False), target, strict=True)
        ):
            rid = f"bench-{n:06d}"
            inputs = {"instances": [[float(v) for v in values]]}
            uow.session.add(
                PredictionRow(
                    request_id=rid, model_name="iris", version="1", deployment_id="iris-v1",
                    captured_at=now, latency_ms=1.0, status=200, inputs=inputs,
                    output={"predictions": [0]}, gateway="bench",
                )
            )  # fmt: skip
            uow.session.add(
                FeedbackRow(
                    request_id=rid, model_name="iris", label=int(label), received_by="bench",
                    received_at=now,
                )
            )  # fmt: skip
        uow.commit()
    set_policy(c, settings.user, "iris", PolicyRequest(PROJECT, params=("C=10",)))
    return c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        c = home(Path(tmp))
        try:
            for n in range(args.runs):
                started = time.perf_counter()
                result = retrain(c, "iris", c.settings.user, f"bench run {n + 1}", follow=False)
                took = time.perf_counter() - started
                e = result["evaluation"]
                print(
                    f"run {n + 1}: {result['status']} v{result['new_version']} "
                    f"({result['label']}) in {took:.1f} s; accuracy "
                    f"{e['candidate']['accuracy']:.3f} vs {e['production']['accuracy']:.3f} "
                    f"on {e['rows']} held-out rows"
                )
        finally:
            c.close()


if __name__ == "__main__":
    main()
