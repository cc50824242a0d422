"""Run the real ``deployer`` console script as a user would, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEPLOYER = Path(sys.executable).parent / "deployer"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run(*args: str, env: dict[str, str], timeout: float = 120) -> Result:
    """Run ``deployer ARGS`` with exactly this environment on top of the current one."""
    proc = subprocess.run(
        [str(DEPLOYER), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_here(*args: str, env: dict[str, str]) -> Result:
    """``deployer ARGS`` through the CLI's own Typer app in this process (local mode), with
    ``env`` on top of the current environment while it runs: the same command code without a
    process's 2-3 s of interpreter and import start-up. For a test's set-up, clean-up and reads
    that are not its subject (``init``, ``register``, ``down``, ``traffic show``); a test of a
    command as a user runs it uses ``run``. Not for ``watch``: it registers a faulthandler on
    stderr, which needs a real file."""
    from typer.testing import CliRunner

    from agents.entrypoints.cli.app import app

    result = CliRunner().invoke(app, list(args), env=env)
    raised = result.exception
    why = "" if raised is None or isinstance(raised, SystemExit) else f"raised {raised!r}"
    return Result(result.exit_code, result.stdout, result.stderr + why)
