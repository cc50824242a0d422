"""What a test home's set-up costs on this machine: a fresh MLflow store (MLflow's own migrations)
on the disk's temporary folder and on /dev/shm, against a copy of a migrated one
(tests/mlflow_template.py), and a SQLite state database migrated to head on each.

Each measurement runs in a subprocess of its own (MLflow caches stores per process), rounds
alternate the arms, and the figures are medians. It prints figures; it asserts nothing. The
machine is shared and has 2 cores: compare arms of one run, not runs.

    .venv/bin/python bench/test_costs.py --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRESH = """
import sys, time
from mlflow import MlflowClient
start = time.perf_counter()
MlflowClient(tracking_uri=sys.argv[1]).search_registered_models()
print(time.perf_counter() - start)
"""
STATE = """
import sys, time
from database import migrate
start = time.perf_counter()
migrate.upgrade(sys.argv[1])
print(time.perf_counter() - start)
"""


def child(code: str, url: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", code, url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bases = {"disk": Path(tempfile.gettempdir()), "shm": Path("/dev/shm")}
    figures: dict[str, list[float]] = {}
    template = Path(tempfile.mkdtemp(dir=bases["shm"])) / "mlflow.db"
    child(FRESH, f"sqlite:///{template}")
    try:
        for _ in range(args.rounds):
            for name, base in bases.items():
                folder = Path(tempfile.mkdtemp(dir=base))
                try:
                    figures.setdefault(f"fresh MLflow store, {name}", []).append(
                        child(FRESH, f"sqlite:///{folder / 'mlflow.db'}")
                    )
                    start = time.perf_counter()
                    shutil.copyfile(template, folder / "copy.db")
                    figures.setdefault(f"copied MLflow store, {name}", []).append(
                        time.perf_counter() - start
                    )
                    figures.setdefault(f"state DB to head, {name}", []).append(
                        child(STATE, f"sqlite:///{folder / 'deployer.db'}")
                    )
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(template.parent, ignore_errors=True)
    for what, seconds in sorted(figures.items()):
        print(f"{what:32} median {statistics.median(seconds):7.3f} s  ({len(seconds)} rounds)")


if __name__ == "__main__":
    main()
