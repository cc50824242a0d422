"""What a gateway reports to its backend: its figures, flushed (``DataPlane.flush``).

Only rows whose figures changed since the last flush are written; the others are marked as
reported in one statement that names only the rows not to mark (those no longer reported),
so an idle flush costs the same with 1 model or 1,000; a deployment no table names any more,
idle for a window, is forgotten here and no longer written (its rows stay in the backend as
they were: a later gate's evidence). One flush
at a time: the periodic flush and the one after a threshold crossing (an ejection, a breaker
opening) would otherwise write the same rows at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from mlops.gateway.backend import GatewayConfig, RouteBackend, Snapshot
from mlops.gateway.stats import DeploymentStats, ShadowComparison


class Reporting(Protocol):
    """What a flush reads and keeps of the data plane (``proxy.DataPlane``)."""

    backend: RouteBackend
    config: GatewayConfig
    snapshot: Snapshot
    stats: dict[str, DeploymentStats]
    shadows: dict[str, ShadowComparison]
    flush_lock: asyncio.Lock
    flushed: dict[tuple[str, str], dict[str, Any]]
    retired: set[tuple[str, str]]
    named: tuple[Snapshot, frozenset[str]] | None
    flushed_at: float | None
    failed_flushes: int


async def flush(plane: Reporting) -> None:
    """Write this gateway's figures to the backend: every deployment it routes or mirrors
    (the monitor reads a deployment whose report is old as one nobody watches). Only rows
    whose figures changed since the last flush are written; the others are marked as
    reported; a deployment no table names any more, idle for a window, is forgotten here
    and no longer written (its stored rows stay). Figures are cumulative, so a failed flush
    loses nothing: it is logged and counted, and the next one writes every row it did not.
    One at a time (the periodic flush and the one after a threshold crossing would otherwise
    write the same rows at once)."""
    async with plane.flush_lock:
        _evict_retired(plane)
        figures: dict[tuple[str, str], dict[str, Any]] = {}
        for deployment_id, stats in plane.stats.items():
            figures["deployment", deployment_id] = stats.snapshot()
        for deployment_id, comparison in plane.shadows.items():
            figures["shadow", deployment_id] = comparison.snapshot()
        flushed = plane.flushed
        # An idle deployment's snapshot is the very object last stored: no comparison needed.
        changed = {
            k: f for k, f in figures.items() if (old := flushed.get(k)) is not f and old != f
        }
        # The rows stored once and no longer reported: the only ones a flush leaves unmarked,
        # so the unchanged rows go unnamed (one UPDATE, whatever the number of models).
        retired = (plane.retired | flushed.keys()) - figures.keys()
        try:
            await asyncio.to_thread(
                plane.backend.store_stats,
                plane.config.gateway_id,
                [f for (kind, _), f in changed.items() if kind == "deployment"],
                [f for (kind, _), f in changed.items() if kind == "shadow"],
                retired=retired,
            )
        except Exception:
            plane.failed_flushes += 1
            raise
        plane.flushed = figures
        plane.retired = retired
        plane.flushed_at = time.monotonic()


def _evict_retired(plane: Reporting) -> None:
    """Forget the figures of deployments no table routes or mirrors any more, once they
    recorded nothing for a whole window (late retries and shadow calls land first)."""
    snapshot = plane.snapshot
    if plane.named is None or plane.named[0] is not snapshot:  # once per snapshot, not flush
        named: set[str] = set()
        for route in snapshot.routes.values():
            named.update(route.named)
        plane.named = (snapshot, frozenset(named))
    named_now = plane.named[1]
    if named_now.issuperset(plane.stats) and named_now.issuperset(plane.shadows):
        return  # every figure kept is of a routed deployment: nothing to forget
    window = plane.config.window_seconds
    for deployment_id, stats in list(plane.stats.items()):
        if deployment_id not in named_now and stats.clock() - stats.recorded_at > window:
            del plane.stats[deployment_id]
    for deployment_id in list(plane.shadows):
        if deployment_id not in named_now and deployment_id not in plane.stats:
            del plane.shadows[deployment_id]
