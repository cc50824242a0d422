"""What ``deployer watch`` prints for people: every action, and a wait only when it begins."""

from __future__ import annotations

from typing import Any

import pytest

from agents.entrypoints.cli.agent import _render_tick


def tick(*checks: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "status": "ticked",
        "holder": "vm:1:abc",
        "checks": [
            {
                "deployment_id": dep,
                "action": action,
                "status": status,
                "message": f"{action} {status}",
                "outcome": None,
            }
            for dep, action, status in checks
        ],
    }


def test_a_repeated_wait_is_said_once_and_every_action_each_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    said: dict[str, tuple[str, str]] = {}
    for t in (
        tick(("c1", "wait", "inconclusive")),
        tick(("c1", "wait", "inconclusive")),
        tick(("c1", "advance", "passed")),
        tick(("c1", "wait", "inconclusive")),
        tick(("c1", "rollback", "failed")),
        tick(),
        tick(),
        {"status": "standby", "holder": "vm:2:def", "checks": []},
        {"status": "standby", "holder": "vm:2:def", "checks": []},
    ):
        _render_tick(t, said)

    lines = [line.split(" ", 1)[1] for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        "c1 wait (inconclusive): wait inconclusive",
        "c1 advance (passed): advance passed",
        "c1 wait (inconclusive): wait inconclusive",
        "c1 rollback (failed): rollback failed",
        "nothing to watch",
        "standby: vm:2:def holds the watch lease",
    ]


def test_a_quality_verdict_is_said_when_it_changes(capsys: pytest.CaptureFixture[str]) -> None:
    said: dict[str, tuple[str, str]] = {}
    for verdict in ("inconclusive", "drop", "drop", "ok"):
        t = tick()
        t["quality"] = [{"deployment_id": "d1", "verdict": verdict, "summary": f"[{verdict}]"}]
        _render_tick(t, said)
    lines = [line.split(" ", 1)[1] for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        "nothing to watch",
        "d1 quality inconclusive: [inconclusive]",
        "d1 quality drop: [drop]",
        "d1 quality ok: [ok]",
    ]
