"""``deployer demo``, the README's main command, run as a user runs it."""

from __future__ import annotations

from pathlib import Path

import psutil

from mlops.processes import find_by_env
from tests.e2e.cli import run


def test_the_demo_tells_the_whole_story_and_leaves_nothing_running(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    result = run("demo", "--home", str(home), "--json", env={}, timeout=600)
    assert result.code == 0, result.stderr
    story = result.json()
    said = [event["text"] for event in story["events"]]
    assert any("refused, as it should be" in text for text in said)  # the shadow-age gate
    assert sum("approves" in text and "with his own token" in text for text in said) == 2
    assert any("approve your own request: refused" in text for text in said)
    assert any("answered by v1" in text and "failed" not in text for text in said)
    assert 0.9 <= story["shadow_agreement"] <= 1.0  # the demo's own agreement bar was met
    assert story["rollback_requests"] > 0
    assert story["rollback_failures"] == 0
    assert "error" in story["rolled_back_by"]  # the monitor, not a person, rolled it back
    assert "conservative" in story["advice"]
    assert story["alert"]["title"].startswith("[critical] rolled_back iris_classifier")
    assert "act: deployer history iris_classifier" in story["alert"]["message"]
    assert any("the webhook received:" in text and "rolled_back" in text for text in said)
    leftovers = find_by_env(BENTOML_HOME=str(home / "bentoml"))
    assert [p.pid for p in leftovers if p.is_running()] == []
    gateways = [
        p
        for p in psutil.process_iter(["cmdline"])
        if {"gateway", "api"} & set(p.info["cmdline"] or [])
        and p.is_running()
        and any(str(home) in part for part in (_env(p).get("DEPLOYER_HOME", ""),))
    ]
    assert gateways == []  # neither the gateway nor the ops API is left


def _env(proc: psutil.Process) -> dict[str, str]:
    try:
        return proc.environ()
    except psutil.Error:
        return {}
