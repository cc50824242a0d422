"""The watcher's liveness probe: ``python -m agents.entrypoints.watch_alive FILE MAX_AGE``.

Exit 0 when ``deployer watch`` touched its heartbeat file (``DEPLOYER_WATCH_HEALTH_FILE``) at
most ``MAX_AGE`` seconds ago, 1 otherwise (missing file included), with one line saying why.
A Kubernetes exec probe runs it every period, so it imports nothing but the standard library
and the pure rule (``lifecycle.liveness.heartbeat_fresh``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from lifecycle.liveness import heartbeat_fresh


def main(argv: Sequence[str] | None = None) -> int:
    """Judge the heartbeat; the exit code is the probe's answer."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        sys.stderr.write("usage: python -m agents.entrypoints.watch_alive FILE MAX_AGE_SECONDS\n")
        return 2
    path, max_age = Path(args[0]), float(args[1])
    try:
        beat_at: float | None = path.stat().st_mtime
    except OSError:
        beat_at = None
    if heartbeat_fresh(beat_at, time.time(), max_age):
        return 0
    said = "no heartbeat yet" if beat_at is None else f"last beat {time.time() - beat_at:.0f} s ago"
    sys.stderr.write(f"watcher not alive: {said} ({path}, limit {max_age:g} s)\n")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
