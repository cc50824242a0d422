"""Keeping a gateway's routing snapshot current (``DataPlane.poll`` and ``DataPlane.reload``).

A backend with a ``fingerprint`` (the state database: ``DbRouter.fingerprint``) is polled with
that one small query; only a change in it costs more, and only as much as it changed: the
tables whose revision moved, or everything when a deployment or the known models changed,
or every ``full_reload_interval`` (``lifecycle.table_sync.plan_sync``). The capture percents
are read again only when the capture settings changed. A pushed reload (the admin API's
``/admin/reload`` after a table was written) goes the same way, so it loads the one table
that changed, whatever the number of models. A backend without a fingerprint (a test's
stand-in) is polled as before: the revisions every poll, everything every
``full_reload_interval``.

Each request sees the old snapshot or the new one, never a mix: the snapshot is replaced
whole, on the event loop, after the reads.

How late a gateway can be. A table written through ``ConfirmingRouter`` is pushed (served at
once, confirmed by the writer). A gateway that missed the push (down, slow, unreachable, a
writer that does not push) serves the stored table after its next poll: at most
``poll_interval`` (0.5 s) plus one load of the changed tables, since every save moves the
fingerprint (a revision and ``updated_at``). A change the aggregates could miss (writes
between two polls by writers whose clocks disagree, leaving the tables' count, revision sum
and newest time as they were) is caught by the full load every ``full_reload_interval``
(300 s): that is the slowest convergence.
The poll stays the backstop: a push only makes the table arrive sooner.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from lifecycle.breaker import EjectionLimit
from lifecycle.table_sync import Fingerprint, Sync, changed_tables, plan_sync
from mlops.gateway.backend import BackendState, GatewayConfig, RouteBackend, Snapshot
from mlops.gateway.balancer import CompiledRoute, Upstream
from mlops.gateway.breaker import Breakers
from mlops.gateway.capture import CaptureSink


class Synced(Protocol):
    """What keeping the snapshot reads and replaces of the data plane (``proxy.DataPlane``)."""

    backend: RouteBackend
    config: GatewayConfig
    capture: CaptureSink | None
    snapshot: Snapshot
    breakers: Breakers
    reload_lock: asyncio.Lock
    loaded_at: float
    """When the snapshot was last known current (``/healthz``'s ``snapshot_age_seconds``)."""
    fully_loaded_at: float
    fingerprint: Fingerprint | None

    def track(self, deployment_id: str, model_name: str) -> object: ...


async def poll(plane: Synced) -> None:
    """One poll: the fingerprint (or, without one, the revisions), then what changed."""
    if getattr(plane.backend, "fingerprint", None) is not None:
        await sync(plane)
        return
    snapshot = plane.snapshot
    incomplete = any(len(r.upstreams) < len(r.named) for r in snapshot.routes.values())
    stale = time.monotonic() - plane.fully_loaded_at > plane.config.full_reload_interval
    if not incomplete and not stale:
        revisions = await asyncio.to_thread(plane.backend.revisions)
        if dict(revisions) == {name: key[0] for name, key in snapshot.keys.items()}:
            plane.loaded_at = time.monotonic()
            return
    await sync(plane, full=True)


async def sync(plane: Synced, full: bool = False) -> None:
    """Bring the snapshot up to date, loading only what changed (everything with ``full``, or
    when the backend has no fingerprint)."""
    backend = plane.backend
    fingerprint: Callable[[], Fingerprint] | None = getattr(backend, "fingerprint", None)
    async with plane.reload_lock:
        if fingerprint is None:
            install(plane, await asyncio.to_thread(backend.load), None)
            return
        now = await asyncio.to_thread(fingerprint)  # read before what it vouches for
        due = full or time.monotonic() - plane.fully_loaded_at > plane.config.full_reload_interval
        plan = plan_sync(plane.fingerprint, now, due)
        if plan.tables is Sync.FULL:
            install(plane, await asyncio.to_thread(backend.load), None)
        elif plan.tables is Sync.TABLES:
            served = {name: key[0] for name, key in plane.snapshot.keys.items()}
            changed, gone = changed_tables(served, await asyncio.to_thread(backend.revisions))
            if changed or gone:
                state = await asyncio.to_thread(backend.load, changed) if changed else None
                install(plane, state, gone)
            else:  # the tables moved, no revision did: one cleared and made again (revision 1)
                install(plane, await asyncio.to_thread(backend.load), None)
        else:
            plane.loaded_at = time.monotonic()
        if plan.captures and plane.capture is not None:
            await plane.capture.refresh()
        plane.fingerprint = now


def install(plane: Synced, state: BackendState | None, gone: frozenset[str] | None) -> None:
    """Swap in a snapshot with ``state``'s tables: all of them (``gone`` None), or those
    tables replaced and the ``gone`` ones dropped, the rest kept. Unchanged tables keep their
    compiled routes (and counters)."""
    old = plane.snapshot
    partial = gone is not None
    loaded: Mapping[str, tuple[Any, int]] = state.routes if state is not None else {}
    compiled: dict[str, CompiledRoute] = {}
    keys: dict[str, tuple[Any, ...]] = {}
    if gone is not None:
        compiled = {n: r for n, r in old.routes.items() if n not in gone}
        keys = {n: k for n, k in old.keys.items() if n not in gone}
    changed: list[str] = []
    upstreams_of = state.upstreams if state is not None else {}
    for name, (routes, revision) in loaded.items():
        named = [*routes.weights, routes.shadow_deployment_id]
        upstreams = {
            d: Upstream(d, info.url, info.model_version)
            for d in named
            if d is not None and (info := upstreams_of.get(d)) is not None and info.url is not None
        }
        key = (revision, tuple(sorted((d, u.url) for d, u in upstreams.items())))
        keys[name] = key
        if old.keys.get(name) == key and old.routes[name].routes == routes:
            compiled[name] = old.routes[name]  # (a table made again may repeat a revision)
        else:
            compiled[name] = CompiledRoute(routes, upstreams, revision)
            changed.extend(upstreams)
    models = old.models if partial or state is None else state.models
    plane.snapshot = Snapshot(compiled, models, keys)
    plane.loaded_at = time.monotonic()
    if not partial:
        plane.fully_loaded_at = plane.loaded_at
    for name in loaded if partial else compiled:
        for deployment_id in compiled[name].upstreams:
            plane.track(deployment_id, name)  # reported each flush, requests or none
    limits = {
        d: EjectionLimit(*limit) for d, limit in getattr(state, "ejection_limits", {}).items()
    }
    if partial:
        kept = {d for n, r in compiled.items() if n not in loaded for d in r.upstreams}
        limits = {d: v for d, v in plane.breakers.limits.items() if d in kept} | limits
    plane.breakers.routed(
        ((d, name) for name, route in compiled.items() for d in route.upstreams), limits, changed
    )
