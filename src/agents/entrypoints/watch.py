"""``deployer watch``: monitoring ticks on a schedule, one watcher at a time per database.

Each tick is the agent's ``monitor`` action (judge every open rollout, record the judgement,
advance, complete, retire or roll back), after healing the deploys a crash left half done
(resume their thread, else roll them back: ``model_deployer.recovery``). A lease in the state
database makes a second watcher wait as a standby instead of ticking too; ``--once`` runs one
tick for cron, a systemd timer or a Kubernetes CronJob and skips when a long-running watcher
holds the lease. SIGTERM and SIGINT
stop the loop after the tick in progress, and the lease is given back at once.

The lease is judged on the database's clock and renewed in the background while a tick runs;
each acquisition has a new fence, and every write of the watcher's sessions checks it
(``fence_writes``): a watcher that lost its lease mid-tick has its writes refused
(``fenced_out``). Each model is ticked while the watcher holds its lock (``database.locks``): a
model another operation is changing is skipped this tick and said so. On the first tick and every
``DEPLOYER_AUDIT_VERIFY_EVERY_TICKS`` ticks after it the audit chain is verified and the outcome
recorded (``deployer status`` shows it; a break is logged as an error, and the alert dispatcher
turns the recorded break into an ``audit_chain_broken`` alert).

Alerts (``agents.alerting``) are delivered by a dispatcher in a thread of its own, started and
stopped with the watcher and woken after each tick: a slow or dead alert channel never holds up
a tick. A watcher that finds its lease taken mid-tick raises ``lease_lost`` itself.

After the checks, the monitor agent (``agents.model_monitor``) turns the tick's evidence into
decisions (nothing, alert, ask for a rollback, ask for retraining); the tick's report carries
them and their handoffs. A drift or quality check that raises is kept as evidence
(``check_failures``), so the agent alerts on it.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.alerting import dispatching, raise_alert
from agents.commands import Tick
from agents.entrypoints.watch_report import skipped_check, tick_report
from agents.handlers.check_failures import failed, monitor_watched
from agents.handlers.feedback import judge_quality
from agents.handlers.retraining import record_deferred, retraining_worker
from agents.queries.audit import record_audit_check
from database import leases, locks
from database.feedback import FeedbackRepository
from lifecycle.alerts import lease_lost
from lifecycle.errors import BadInputError
from lifecycle.records import utcnow
from lifecycle.stages import LIVE_STATUSES

if TYPE_CHECKING:
    from agents.bootstrap import Container
    from agents.supervisor.agent import SystemAgent

log = logging.getLogger(__name__)

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
    fence = fence_writes(c, holder)
    ticks = 0
    with c.open_system() as agent, dispatching(c) as alerts, retraining_worker(c) as retrainer:
        try:
            beat(c.settings.watch_health_file)
            while not stop.is_set():
                started = time.monotonic()
                lease = leases.acquire(c.session_factory, LEASE_NAME, holder, ttl)
                if lease.held:
                    fence.token = lease.fence
                    report(fenced_tick(c, agent, request, fence, ttl, ticks))
                    if ticks == 0:
                        settle_heap()
                    alerts.wake()  # tell what the tick did without waiting for the next pass
                    retrainer.wake()  # runs the tick's monitor opened (or people approved)
                    ticks += 1
                else:
                    report(
                        {
                            "status": "standby",
                            "holder": lease.holder,
                            "lease_expires_at": lease.expires_at.isoformat(),
                            "checks": [],
                        }
                    )
                beat(c.settings.watch_health_file)  # the loop went round: alive
                if once or (max_ticks is not None and ticks >= max_ticks):
                    break
                stop.wait(max(0.0, interval - (time.monotonic() - started)))
        finally:
            leases.release(c.session_factory, LEASE_NAME, holder)
    return ticks


def settle_heap() -> None:
    """Move what the process holds after its first tick (the libraries, the compiled graphs,
    the caches the tick filled) out of the garbage collector's sight (``gc.freeze``). A tick
    over 1,000 rollouts allocates enough to start several full collections, and each walked
    those hundreds of thousands of long-lived objects again: a fifth of the tick's CPU here
    (``bench/scale.py watcher``). Frozen objects are still freed by reference counting; only
    cycles among them are never collected, and they were alive after a tick anyway."""
    gc.collect()
    gc.freeze()


def beat(health_file: Path | None) -> None:
    """Touch the heartbeat file (``DEPLOYER_WATCH_HEALTH_FILE``), the liveness probe's signal;
    a file that cannot be written is logged, never a reason to stop watching."""
    if health_file is None:
        return
    try:
        health_file.touch()
        os.utime(health_file)
    except OSError as exc:
        log.warning("cannot touch the watcher's heartbeat file %s: %s", health_file, exc)


def heal(agent: SystemAgent, request: Tick, models: list[str]) -> list[dict[str, Any]]:
    """Before judging: deploys of ``models`` a crash left half done past the deadline (one
    read for all), resumed or rolled back (``model_deployer.recovery``, by the system's
    deployer agent; a deploy the system graph started is taken up on its system thread); one
    report each."""
    from agents.model_deployer.recovery import heal_stuck_deploys

    if agent.deployer is None:
        raise RuntimeError("the watcher's system agent has no deployer")
    return heal_stuck_deploys(agent.deployer, request.model_name or "", agent, set(models))


def fence_writes(c: Container, holder: str) -> leases.Fence:
    """Make every write of ``c``'s sessions carry this watcher's fence (``database.leases``):
    once the lease is another's, the monitor's writes are refused and change nothing."""
    fence = leases.Fence(LEASE_NAME, holder)
    c.session_info[leases.FENCE_INFO] = fence
    return fence


def fenced_tick(
    c: Container,
    agent: SystemAgent,
    request: Tick,
    fence: leases.Fence,
    ttl: float,
    ticks_before: int,
) -> dict[str, Any]:
    """One tick under the lease ``fence`` holds, renewed in the background while it runs; the
    audit chain is verified on the schedule the settings give. A tick whose lease was taken
    over meanwhile stops at its first refused write (``fenced_out``)."""
    began = utcnow()
    try:
        with renewing(c, fence, ttl):
            result = tick_models(c, agent, request, fence.holder, ttl)
            audit = scheduled_audit_check(c, ticks_before, fence.holder)
            quality = quality_checks(c, request)
            drift = scheduled_drift_checks(c, ticks_before, fence.holder, request)
            decided = monitor_decisions(c, agent, request)
    except leases.StaleFenceError as exc:
        log.warning("watcher %s lost its lease mid-tick: %s", fence.holder, exc)
        tell_lease_lost(c, fence, str(exc))
        return {"status": "fenced_out", "holder": fence.holder, "message": str(exc), "checks": []}
    out = {**tick_report(result, fence.holder, began, utcnow()), "healed": result["healed"]}
    if result.get("deferred"):
        out["deferred"] = result["deferred"]
    if result.get("agents"):
        out["agents"] = result["agents"]  # which agents the supervisor ran, and how they ended
    if audit is not None:
        out["audit"] = audit
    if quality:
        out["quality"] = quality
    if drift is not None:
        out["drift"] = drift
    if decided is not None:
        out["decisions"], out["handoffs"] = decided["decisions"], decided["handoffs"]
    return out


def tell_lease_lost(c: Container, fence: leases.Fence, why: str) -> None:
    """Raise the ``lease_lost`` alert (outside the fence, which refuses this watcher now); a
    failure to record it is logged, never raised."""
    try:
        source = f"lease:{fence.holder}:{fence.token}"
        raise_alert(c, lease_lost(fence.holder, why), source)
    except Exception:
        log.warning("recording the lease_lost alert failed", exc_info=True)


@contextmanager
def renewing(c: Container, fence: leases.Fence, ttl: float) -> Iterator[None]:
    """Renew the lease every third of its life while the block runs (a long rollback)."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(ttl / 3):
            try:
                if not leases.renew(c.session_factory, fence, ttl):
                    return  # lost: the fenced writes will say so
            except Exception:  # a busy database: try again at the next beat
                log.warning("renewing the %s lease failed; retrying", fence.name, exc_info=True)

    renewer = threading.Thread(target=beat, name="lease-renewal", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()


def models_to_watch(c: Container, request: Tick) -> list[str]:
    """The models a tick judges: the one asked for, else every model with a live deployment."""
    if request.model_name:
        return [request.model_name]
    with c.reader() as uow:
        return uow.deployments.model_names(LIVE_STATUSES)


def tick_models(
    c: Container, agent: SystemAgent, request: Tick, holder: str, ttl: float
) -> dict[str, Any]:
    """Take every watched model's lock that is free (one transaction, a few statements), heal
    and tick the models held in ONE system-graph tick, and give the locks back together; a
    model whose lock another operation holds (a user's deploy, ``traffic set``) is neither
    judged nor acted on this tick, and the report says so (``action: "skipped"``)."""
    checks: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    healed: list[dict[str, Any]] = []
    models = models_to_watch(c, request)
    with locks.holding_many(c.session_factory, models, f"monitor ({holder})", ttl) as held:
        for model in models:
            if model not in held.tokens:
                checks.append(skipped_check(model, held.others.get(model) or "another operation"))
        ticked = sorted(held.tokens)
        if ticked:
            healed = heal(agent, request, ticked)
            result = tick(agent, request, c.settings.user, ticked)
    deferred = record_deferred(c, result.get("handoffs") or [])
    monitor = result.get("monitor") or {}
    return {
        "monitor": {
            "tick_id": monitor.get("tick_id") or "",
            "checked_at": utcnow().isoformat(),
            "checks": [*checks, *monitor.get("checks", [])],
        },
        "elapsed_seconds": round(float(result.get("elapsed_seconds") or 0.0), 3),
        "healed": healed,
        "deferred": deferred,
        "agents": [f"{r['agent']}:{r['status']}" for r in result.get("results") or []],
    }


def scheduled_audit_check(c: Container, ticks_before: int, holder: str) -> dict[str, Any] | None:
    """On the first tick and every ``audit_verify_every_ticks`` after it, verify the audit
    chain and record the outcome (``deployer status`` shows the last one); a break is logged."""
    if ticks_before % c.settings.audit_verify_every_ticks != 0:
        return None
    found = record_audit_check(c, holder)
    if not found["ok"]:
        log.error("the audit chain is broken: %s", found["problem"])
    return found


def scheduled_drift_checks(
    c: Container, ticks_before: int, holder: str, request: Tick
) -> list[dict[str, Any]] | None:
    """On the first tick and every ``drift_every_ticks`` after it, record a drift check of each
    model serving a version with a reference (``handlers.drift_checks``; never breaks a tick)."""
    if ticks_before % c.settings.drift_every_ticks != 0:
        return None
    from agents.handlers.drift_checks import record_drift_checks

    return record_drift_checks(c, holder, request.model_name or "")


def tick(agent: SystemAgent, request: Tick, actor: str, models: list[str]) -> dict[str, Any]:
    """Carry out one ``Tick`` for ``actor`` on an open agent over ``models`` (the ones whose
    locks the watcher holds), one system-graph tick: the monitor's final state."""
    if request.model_name:
        return agent.tick(actor, request.model_name)
    return agent.tick(actor, "", models)


def quality_checks(c: Container, request: Tick) -> list[dict[str, Any]]:
    """Quality from feedback (``handlers.feedback.judge_quality``) of each watched model with
    labelled predictions in the window (one read finds them: a model without any has nothing
    to judge), after the monitor: a failure is logged and never breaks the tick (a lost lease
    still stops it)."""
    found: list[dict[str, Any]] = []
    for model in labelled_models(c, models_to_watch(c, request)):
        try:
            found.extend(judge_quality(c, model, c.settings.user))
        except leases.StaleFenceError:
            raise
        except Exception as exc:
            log.warning("judging the quality of %s failed; the tick goes on", model, exc_info=True)
            failed(c, model, "quality", exc, utcnow())
    return found


def labelled_models(c: Container, models: list[str]) -> list[str]:
    """Which of ``models`` have labelled predictions in the quality window (all of them when
    the read fails: each model's own check then says why)."""
    since = utcnow() - timedelta(seconds=c.settings.quality_window_seconds)
    try:
        with c.reader() as uow:
            found = FeedbackRepository(uow.session).labelled_models(models, since)
    except leases.StaleFenceError:
        raise
    except Exception:
        log.warning("finding the models with feedback failed", exc_info=True)
        return models
    return [m for m in models if m in found]


def monitor_decisions(c: Container, agent: SystemAgent, request: Tick) -> dict[str, Any] | None:
    """After the checks: the monitor agent's watch through the supervisor (so it judges this
    tick's evidence), inside the fence; a retraining it asks for is left to the retraining
    worker. A failure never breaks the tick (a lost lease still stops it): it is kept in
    ``check_failures`` and alerted once, and the first watch that works again closes it."""
    from agents.model_monitor.agent import report_line

    try:
        out = agent.watch(c.settings.user, request.model_name or "")
    except leases.StaleFenceError:
        raise
    except Exception as exc:
        log.warning("the monitor agent failed; the tick goes on", exc_info=True)
        monitor_watched(c, request.model_name, exc, utcnow())
        return None
    monitor_watched(c, request.model_name, None, utcnow())
    record_deferred(c, out.get("handoffs") or [])
    return {"decisions": [report_line(d) for d in out["decisions"]], "handoffs": out["handoffs"]}
