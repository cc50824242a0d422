"""The watcher's liveness rule (``lifecycle.liveness.heartbeat_fresh``) and its probe
(``python -m agents.entrypoints.watch_alive FILE MAX_AGE``): alive while the loop's heartbeat
is recent, dead when it is missing or old."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from agents.entrypoints import watch_alive
from agents.entrypoints.watch import beat
from lifecycle.errors import BadInputError
from lifecycle.liveness import heartbeat_fresh


@pytest.mark.parametrize(
    ("beat_at", "now", "max_age", "fresh"),
    [
        (None, 1000.0, 300.0, False),  # no beat yet
        (1000.0, 1000.0, 300.0, True),
        (700.0, 1000.0, 300.0, True),  # exactly the limit
        (699.0, 1000.0, 300.0, False),
        (1010.0, 1000.0, 300.0, True),  # a clock step back: the loop did write it
        (990.0, 1000.0, 5.0, False),
        (999.8, 1000.0, 0.5, True),  # a sub-second limit is a limit
    ],
)
def test_a_heartbeat_is_fresh_within_its_maximum_age(
    beat_at: float | None, now: float, max_age: float, fresh: bool
) -> None:
    assert heartbeat_fresh(beat_at, now, max_age) is fresh


@pytest.mark.parametrize("max_age", [0.0, -1.0])
def test_a_maximum_age_must_be_positive(max_age: float) -> None:
    with pytest.raises(BadInputError):
        heartbeat_fresh(1.0, 2.0, max_age)


def test_the_probe_answers_from_the_file_the_watcher_touches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alive = tmp_path / "watch.alive"
    assert watch_alive.main([str(alive), "60"]) == 1
    assert "no heartbeat yet" in capsys.readouterr().err
    beat(alive)
    assert watch_alive.main([str(alive), "60"]) == 0
    old = time.time() - 120
    os.utime(alive, (old, old))
    assert watch_alive.main([str(alive), "60"]) == 1
    assert "last beat 120 s ago" in capsys.readouterr().err
    beat(alive)  # the loop goes round again
    assert watch_alive.main([str(alive), "60"]) == 0
    assert watch_alive.main([str(alive)]) == 2


def test_a_heartbeat_that_cannot_be_written_does_not_stop_the_watcher(tmp_path: Path) -> None:
    beat(tmp_path / "missing-folder" / "watch.alive")  # logged, not raised
    beat(None)  # no file configured: nothing to do


def test_the_probe_loads_no_database_cli_or_ml_library() -> None:
    from tests.unit.test_gateway_entrypoint import HEAVY, loaded_by

    tops = {name.split(".")[0] for name in loaded_by("agents.entrypoints.watch_alive")}
    assert "lifecycle" in tops  # it loads what it runs
    assert tops.isdisjoint(HEAVY | {"sqlalchemy", "aiohttp", "prometheus_client"}), tops
