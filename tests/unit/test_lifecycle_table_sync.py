"""What a gateway's poll loads (``lifecycle.table_sync``): nothing when the fingerprint is as
last seen, the changed tables when only the routes moved, everything when a deployment or the
known models changed or the periodic full load is due, the percents when capture changed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lifecycle.table_sync import Fingerprint, Sync, SyncPlan, changed_tables, plan_sync

BASE = Fingerprint((2, 7, "t1"), (4, 11), (3,), (1, "t0", 10.0))


@pytest.mark.parametrize(
    ("last", "now", "full_due", "expected"),
    [
        pytest.param(None, BASE, False, SyncPlan(Sync.FULL, True), id="never-loaded"),
        pytest.param(BASE, BASE, False, SyncPlan(Sync.NOTHING, False), id="unchanged"),
        pytest.param(BASE, BASE, True, SyncPlan(Sync.FULL, False), id="full-load-due"),
        pytest.param(
            BASE,
            replace(BASE, routes=(2, 8, "t2")),
            False,
            SyncPlan(Sync.TABLES, False),
            id="a-table-saved",
        ),
        pytest.param(
            BASE,
            replace(BASE, routes=(1, 5, "t1")),
            False,
            SyncPlan(Sync.TABLES, False),
            id="a-table-cleared",
        ),
        pytest.param(
            BASE,
            replace(BASE, deployments=(4, 12)),
            False,
            SyncPlan(Sync.FULL, False),
            id="a-deployment-changed",
        ),
        pytest.param(
            BASE,
            replace(BASE, models=(4,)),
            False,
            SyncPlan(Sync.FULL, False),
            id="a-version-registered",
        ),
        pytest.param(
            BASE,
            replace(BASE, captures=(1, "t3", 20.0)),
            False,
            SyncPlan(Sync.NOTHING, True),
            id="capture-changed-only",
        ),
        pytest.param(
            BASE,
            replace(BASE, routes=(2, 8, "t2"), captures=(2, "t3", 20.0)),
            False,
            SyncPlan(Sync.TABLES, True),
            id="a-table-and-capture",
        ),
    ],
)
def test_a_poll_loads_what_its_fingerprint_says_changed(
    last: Fingerprint | None, now: Fingerprint, full_due: bool, expected: SyncPlan
) -> None:
    assert plan_sync(last, now, full_due) == expected


@pytest.mark.parametrize(
    ("served", "stored", "changed", "gone"),
    [
        pytest.param({"a": 1, "b": 2}, {"a": 1, "b": 2}, set(), set(), id="same"),
        pytest.param({"a": 1, "b": 2}, {"a": 1, "b": 3}, {"b"}, set(), id="one-moved"),
        pytest.param({"a": 1}, {"a": 1, "c": 1}, {"c"}, set(), id="a-new-table"),
        pytest.param({"a": 1, "b": 2}, {"a": 1}, set(), {"b"}, id="a-table-gone"),
        pytest.param({"a": 3}, {"a": 1}, {"a"}, set(), id="cleared-and-made-again"),
        pytest.param({}, {}, set(), set(), id="nothing"),
    ],
)
def test_only_tables_at_another_revision_are_loaded_and_missing_ones_dropped(
    served: dict[str, int], stored: dict[str, int], changed: set[str], gone: set[str]
) -> None:
    assert changed_tables(served, stored) == (frozenset(changed), frozenset(gone))
