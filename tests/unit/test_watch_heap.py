"""The watcher settles its heap after its first tick (``watch.settle_heap``: ``gc.freeze``)."""

from __future__ import annotations

import gc

from agents.entrypoints import watch


def test_settling_the_heap_freezes_what_the_process_holds_and_collects_first() -> None:
    gc.unfreeze()
    cycle: list[object] = []
    cycle.append(cycle)  # garbage only a collection frees
    del cycle
    try:
        watch.settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_count()[0] < 50  # collected just before: a fresh young generation
    finally:
        gc.unfreeze()
