"""What one CLI call costs a test: ``deployer ARGS`` as a process (``tests.e2e.cli.run``: the
interpreter, the imports, MLflow's store and the container) against the same command through
the CLI's own Typer app in the test's process (``tests.e2e.cli.run_here``), on one initialised
home. The difference is what each set-up, clean-up or read call moved in-process saves.

Rounds alternate the arms; the figures are medians. It prints figures; it asserts nothing. The
machine is shared and has 2 cores: compare the arms of one run, not runs.

    .venv/bin/python bench/cli_call.py --rounds 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
)
for quiet in ("BENTOML_DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
    os.environ[quiet] = "1"

from tests.e2e.cli import Result, run, run_here  # noqa: E402

COMMANDS = (("status", "--json"), ("approvals", "--json"), ("history", "iris", "--json"))
"""Reads a test makes (history of a model that has none exits 2 after the same start-up)."""


def timed(call: Callable[[], Result]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="cli-call-")) / "home"
    env = {"DEPLOYER_HOME": str(home)}
    try:
        assert run_here("init", "--json", env=env).code == 0
        run_here("status", "--json", env=env)  # the process's own first imports, once
        figures: dict[str, list[float]] = {"process": [], "in-process": []}
        for _ in range(args.rounds):
            for command in COMMANDS:
                figures["process"].append(timed(lambda c=command: run(*c, env=env)))
                figures["in-process"].append(timed(lambda c=command: run_here(*c, env=env)))
        process, here = (statistics.median(figures[k]) for k in ("process", "in-process"))
        print(f"{len(figures['process'])} calls per arm ({args.rounds} rounds of {COMMANDS})")
        print(f"as a process (run):       median {process:.2f} s")
        print(f"in-process (run_here):    median {here:.3f} s")
        saved = process - here
        print(f"in-process / process:     {here / process:.3f}x; saved per call {saved:.2f} s")
        print(f"load average at the end:  {os.getloadavg()[0]:.1f} (2 cores)")
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
