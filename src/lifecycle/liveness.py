"""Is a long-running loop alive? Judged from its last heartbeat (pure).

``deployer watch`` touches a heartbeat file after each pass of its loop (a tick, or a standby's
look at the lease); a Kubernetes exec probe (``agents.entrypoints.watch_alive``) asks this rule,
so a watcher whose loop is stuck (a tick that hangs, a dead main thread) is restarted, while a
standby that waits its turn stays alive.
"""

from __future__ import annotations

from lifecycle.errors import BadInputError


def heartbeat_fresh(beat_at: float | None, now: float, max_age_seconds: float) -> bool:
    """True when a heartbeat exists and is at most ``max_age_seconds`` old. A beat from the
    future (clock steps) counts as fresh: the loop did write it."""
    if max_age_seconds <= 0:
        raise BadInputError(f"the heartbeat's maximum age must be positive, not {max_age_seconds}")
    if beat_at is None:
        return False
    return now - beat_at <= max_age_seconds
