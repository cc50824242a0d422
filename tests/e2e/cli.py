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
