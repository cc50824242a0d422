"""``deployer watch``: monitoring ticks on a schedule, one watcher at a time per database.

Each tick is the agent's ``monitor`` action (judge every open rollout, record the judgement,
advance, complete, retire or roll back), after healing the deploys a crash left half done
(resume their thread, else roll them back: ``model_deployer.recovery``). A lease in the state
database makes a second watcher wait as a standby instead of ticking too; ``--once`` runs one
tick for cron, a systemd timer or a Kubernetes CronJob and skips when a long-running watcher
holds the lease. SIGTERM and SIGINT stop the loop after the tick in progress, and the lease is
given back at once.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agents.commands import Tick
from database import leases
from lifecycle.errors import BadInputError
from lifecycle.records import utcnow

if TYPE_CHECKING:
    from agents.bootstrap import Container
    from agents.model_deployer.agent import ModelDeployerAgent

LEASE_NAME = "monitor"
"""The one lease every watcher of a database competes for."""


def lease_seconds(interval: float) -> float:
    """How long a tick's lease lasts: several intervals, and never under a minute, so a slow
    tick (a rollback that restarts a server) keeps it."""
    return max(60.0, 3 * interval)


def holder_name() -> str:
    """This watcher's name in the lease: host, PID and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT (the tick in progress finishes first)."""
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def watch(
    c: Container,
    interval: float,
    once: bool,
    report: Callable[[dict[str, Any]], None],
    model_name: str = "",
    stop: threading.Event | None = None,
    max_ticks: int | None = None,
) -> int:
    """Tick every ``interval`` seconds (or once) until stopped; return the ticks run. Each
    tick carries out one ``Tick`` command (every model, or ``model_name``'s)."""
    if interval <= 0:
        raise BadInputError(f"the interval must be a positive number of seconds, not {interval}")
    request = Tick(model_name=model_name or None)
    holder, ttl = holder_name(), lease_seconds(interval)
    stop = stop or threading.Event()
    ticks = 0
    with c.open_agent() as agent:
        try:
            while not stop.is_set():
                started = time.monotonic()
                lease = leases.acquire(c.session_factory, LEASE_NAME, holder, ttl)
                if lease.held:
                    began = utcnow()
                    healed = heal(agent, request)
                    result = tick(agent, request, c.settings.user)
                    ticks += 1
                    report({**tick_report(result, holder, began, utcnow()), "healed": healed})
                else:
                    report(
                        {
                            "status": "standby",
                            "holder": lease.holder,
                            "lease_expires_at": lease.expires_at.isoformat(),
                            "checks": [],
                        }
                    )
                if once or (max_ticks is not None and ticks >= max_ticks):
                    break
                stop.wait(max(0.0, interval - (time.monotonic() - started)))
        finally:
            leases.release(c.session_factory, LEASE_NAME, holder)
    return ticks


def heal(agent: ModelDeployerAgent, request: Tick) -> list[dict[str, Any]]:
    """Before judging: deploys a crash left half done past the deadline, resumed or rolled
    back (``model_deployer.recovery``); one report each."""
    from agents.model_deployer.recovery import heal_stuck_deploys

    return heal_stuck_deploys(agent, request.model_name or "")


def tick(agent: ModelDeployerAgent, request: Tick, actor: str) -> dict[str, Any]:
    """Carry out one ``Tick`` for ``actor`` on an open agent: the monitor's final state."""
    return agent.tick(actor, request.model_name or "")


def tick_report(
    result: dict[str, Any], holder: str, began: datetime, ended: datetime
) -> dict[str, Any]:
    """One tick as the CLI prints it. ``began`` and ``ended`` are the holder's wall clock around
    the tick, so an operator (or a test) can see that two holders' ticks never overlap."""
    monitor = result.get("monitor") or {}
    return {
        "status": "ticked",
        "holder": holder,
        "tick_id": monitor.get("tick_id"),
        "began_at": began.isoformat(),
        "ended_at": ended.isoformat(),
        "checked_at": monitor.get("checked_at"),
        "elapsed_seconds": result.get("elapsed_seconds"),
        "checks": [
            {
                key: check.get(key)
                for key in (
                    "model_name",
                    "deployment_id",
                    "version",
                    "strategy",
                    "action",
                    "status",
                    "message",
                    "outcome",
                )
            }
            for check in monitor.get("checks", [])
        ],
    }
