"""``deployer demo``, the README's main command, run as a user runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil
import pytest

from mlops.processes import find_by_env
from tests.e2e.cli import run

MODEL = "iris_classifier"


def test_the_demo_tells_the_whole_story_and_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the demo's embedded SQLite only, as a user runs it. The story's parts on PostgreSQL
    are proven elsewhere, each on both databases (``database_url``): watchers beside every flow
    and the gateway in test_cli_one_actor[postgres]; a failing canary rolled back by the monitor
    in test_gateway_ejection; drift -> monitor decision -> retraining run in
    test_monitor_agent_db and test_supervisor_routes; a real retraining evaluated against
    production and handed over in test_retraining_real; four-eyes approvals in test_api and
    test_retraining_approval. A second demo run on PostgreSQL cost CI ~2 min and proved
    nothing of its own (``DEPLOYER_DEMO_DATABASE_URL`` still runs it there by hand)."""
    home = tmp_path / "demo-home"
    result = run("demo", "--home", str(home), "--json", env={}, timeout=600)
    assert result.code == 0, result.stderr
    story = result.json()
    said = [event["text"] for event in story["events"]]
    assert any("refused, as it should be" in text for text in said)  # the shadow-age gate
    assert sum("approves" in text and "with his own token" in text for text in said) == 3
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
    _the_loop_closed_by_itself(story["loop"], home, monkeypatch)
    leftovers = find_by_env(BENTOML_HOME=str(home / "bentoml"))
    assert [p.pid for p in leftovers if p.is_running()] == []
    gateways = [
        p
        for p in psutil.process_iter(["cmdline"])
        if {"gateway", "api", "agents.entrypoints.gateway"} & set(p.info["cmdline"] or [])
        and p.is_running()
        and any(str(home) in part for part in (_env(p).get("DEPLOYER_HOME", ""),))
    ]
    assert gateways == []  # neither the gateway nor the ops API is left


def _env(proc: psutil.Process) -> dict[str, str]:
    try:
        return proc.environ()
    except psutil.Error:
        return {}


def _the_loop_closed_by_itself(loop: dict[str, Any], home: Path, mp: pytest.MonkeyPatch) -> None:
    """Issue 15's done-when on the demo's real parts: shifted traffic -> the monitor agent's
    alert and retraining -> a version evaluated against production on the same held-out rows,
    shadowed, approved by bob (the only human step) and released; the episode in memory."""
    from agents.bootstrap import bootstrap

    assert loop["decision"]["line"] == "retrain (drift)"
    assert "sepal_width" in " ".join(loop["decision"]["reasons"])
    assert loop["alert"]["title"].startswith(f"[warning] drift_detected {MODEL}")
    evaluation, version = loop["evaluation"], loop["retraining"]["version"]
    assert evaluation["production"]["version"] == "1" and evaluation["rows"] >= 10
    assert set(evaluation["candidate"]) >= {"accuracy"}
    assert 0.9 <= loop["shadow_agreement"] <= 1.0
    assert loop["canary_requests"] > 0 and loop["canary_failures"] == 0
    mp.setenv("DEPLOYER_HOME", str(home))
    mp.delenv("DEPLOYER_DATABASE_URL", raising=False)
    c = bootstrap()
    try:
        with c.reader() as uow:
            row = uow.models.get(MODEL, version)
            (run_row,) = uow.retraining.runs(MODEL)
            records = uow.version_records.list_for(MODEL, version)
        assert (row.stage, row.label, row.parent_version) == ("production", "1.0.1", "1")
        assert row.lineage["trigger"] == "drift"
        assert row.lineage["retraining_run_id"] == run_row.id == loop["retraining"]["run"]
        assert (run_row.status, run_row.trigger) == ("handed_over", "drift")
        assert [r.to_stage for r in records] == ["staging", "shadow", "production"]
        assert records[-1].approval_id is not None and records[-1].changed_by == "bob"
        with c.open_memory() as memory:
            (episode,) = memory.episodes(MODEL, "retraining")
        assert episode["outcome"] == "succeeded" and episode["version"] == version
    finally:
        c.close()
