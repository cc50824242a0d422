"""How a gateway keeps its routing snapshot current cheaply (issues 16 and 17).

A gateway used to read every table's revision every poll (one row per model) and load every
table again every few seconds; with 1,000 models that idle upkeep cost more CPU than the
requests did. Now each poll reads one :class:`Fingerprint` (a single row of aggregates over
what a gateway serves), and only a change in it costs more:

- the routes' part changed: the per-model revisions are read and only the tables whose
  revision moved are loaded (:func:`changed_tables`); a table gone is dropped; when no
  revision moved and no table went (a table cleared and saved again, back at revision 1),
  everything is loaded;
- the deployments' or the known models' part changed (a server started or restarted on a new
  URL, a deployment retired, a model registered): everything is loaded again, as is done
  every ``full_reload_interval`` whatever the fingerprint says (a safety net for a change the
  aggregates cannot see, e.g. clocks of two writers far apart);
- the capture settings' part changed: the capture percents are read again.

:func:`plan_sync` decides which, from the last fingerprint and the new one; it is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Aggregates that change whenever what a gateway serves changes.

    ``routes``: the tables' count, revision sum and newest ``updated_at`` (a save bumps a
    revision and the time, a clear lowers the count); ``deployments``: the deployments' count
    and their row versions' sum (every ORM update of a row bumps its version: a new URL, a
    status); ``models``: how many model versions are registered (the known models);
    ``captures``: the capture settings' count, newest ``updated_at`` and percent sum."""

    routes: tuple[Any, ...]
    deployments: tuple[Any, ...]
    models: tuple[Any, ...]
    captures: tuple[Any, ...]


class Sync(StrEnum):
    """What a poll loads."""

    NOTHING = "nothing"
    TABLES = "tables"
    """The revisions, then only the tables whose revision changed."""
    FULL = "full"
    """Every table, deployment and known model."""


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What to read: the routing tables (:class:`Sync`) and whether the capture percents."""

    tables: Sync
    captures: bool


def plan_sync(last: Fingerprint | None, now: Fingerprint, full_due: bool) -> SyncPlan:
    """What a poll that read ``now`` loads, the snapshot having been taken at ``last`` (None:
    never loaded through a fingerprint). ``full_due``: the periodic full reload is due."""
    if last is None:
        return SyncPlan(Sync.FULL, True)
    captures = last.captures != now.captures
    if full_due or last.deployments != now.deployments or last.models != now.models:
        return SyncPlan(Sync.FULL, captures)
    if last.routes != now.routes:
        return SyncPlan(Sync.TABLES, captures)
    return SyncPlan(Sync.NOTHING, captures)


def changed_tables(
    served: Mapping[str, int], stored: Mapping[str, int]
) -> tuple[frozenset[str], frozenset[str]]:
    """The tables to load (stored at another revision than served, or new) and the tables to
    drop (served but no longer stored), from each side's revision by model."""
    changed = frozenset(name for name, revision in stored.items() if served.get(name) != revision)
    gone = frozenset(served.keys() - stored.keys())
    return changed, gone
