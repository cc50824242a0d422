"""The monitor agent on a real state database (SQLite and PostgreSQL): evidence rows as the
watch's checks write them -> the decision recorded with its reasons, the retraining run opened,
the audit event, the alert delivered, the episode in memory; and a watch tick that runs the
agent after its checks, where a drift check that raises becomes an alert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.alerting import dispatch_once
from agents.bootstrap import Container, bootstrap
from agents.entrypoints import watch
from agents.entrypoints.chat import chat
from agents.handlers import alerts, drift_checks
from agents.model_monitor import InputState, MonitorDeps, run_monitor
from agents.settings import Settings, local_identity
from database.models_alerts import AlertRow
from database.models_monitor import CheckFailureRow
from database.monitor import MonitorRepository
from lifecycle.records import utcnow
from tests.access_fixtures import grant_roles
from tests.alert_fakes import FakeNotifier
from tests.monitor_fakes import drift_check, quality_check, serve, set_policy
from tests.schema_template import migrated

ME = local_identity()
HOOK = "json://127.0.0.1:9/hook"


def make_container(tmp_path: Path, url: str) -> Container:
    settings = Settings(
        DEPLOYER_HOME=str(tmp_path / "home"),
        DEPLOYER_DATABASE_URL=url,
        DEPLOYER_AUDIT_KEY="k" * 40,
    )
    settings.ensure_home()
    migrated(settings.database_url)
    c = bootstrap(settings)
    grant_roles(c, {})
    serve(c.uow, "iris")
    return c


@pytest.fixture
def container(tmp_path: Path, database_url: str) -> Iterator[Container]:
    c = make_container(tmp_path, database_url)
    yield c
    c.close()


class Delivered(FakeNotifier):
    """Accepts every alert without a connection (the channel URL names no server)."""

    def send(self, url: str, alert: Any) -> str | None:
        self.sent.append((url, alert))
        return None


def test_drift_and_a_quality_drop_open_one_run_audit_it_alert_and_remember(
    container: Container,
) -> None:
    c, now = container, utcnow()
    set_policy(c.uow, now, model_name="iris", drift_features=2, quality_drop=0.05)
    drift_check(c.uow, "iris", now, ("sepal_length", "petal_width"))
    quality_check(c.uow, "iris", now, observed=0.80)
    alerts.add_channel(c, ME, HOOK, events="retraining")
    with c.open_memory() as memory:
        deps = MonitorDeps(c.uow, memory, actor=ME)
        out = run_monitor(deps, InputState(requested_by=ME, source="api"))
        again = run_monitor(deps, InputState(requested_by=ME, source="api"))
        [episode] = memory.episodes("iris", "watch")
    [line] = out["decisions"]
    assert (line["action"], line["trigger"], line["recorded"]) == ("retrain", "drift", True)
    assert any("accuracy 0.8000 vs approved 0.9500" in r for r in line["reasons"])
    assert again["decisions"][0]["reasons"][-1].startswith("already being retrained")
    with c.reader() as uow:
        run = uow.retraining.run(line["retraining_run_id"])
        assert run is not None and run.status == "requested"
        rows = MonitorRepository(uow.session).decisions("iris")
        events = [e.action for e in uow.audit.list("iris")]
    assert [r.action for r in rows] == ["nothing", "retrain"]  # newest first
    assert rows[1].handoff["to"] == "retraining" and rows[1].source == "api"
    assert rows[1].evidence["drift"]["drifted"] == ["sepal_length", "petal_width"]
    assert events == ["retraining_requested", "monitor_all_clear"]
    notifier = Delivered()
    dispatch_once(c, notifier)
    [alert] = notifier.to(HOOK)
    assert (alert.kind, alert.model) == ("retraining_requested", "iris")
    assert alert.summary.startswith("iris retraining requested (drift): drift on 2 features")
    assert episode["trigger"] == "drift" and episode["source"] == "api"
    said = chat.answer(c, "What did the monitor decide about iris?", ME)
    assert said.exit_code == 0 and said.request == {"kind": "decisions", "model_name": "iris"}
    first, newest, older = said.reply.splitlines()
    assert first == "The monitor's last 2 decisions about iris:"
    assert " nothing (info): " in newest and "already being retrained" in newest
    assert " retrain (" in older and "drift on 2 features" in older
    assert said.result is not None and len(said.result["decisions"]) == 2
    unknown = chat.answer(c, "decisions irs", ME)
    assert unknown.exit_code == 2 and "iris" in unknown.reply  # close match offered


def test_a_watch_tick_runs_the_agent_and_a_failing_drift_check_is_alerted(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = make_container(tmp_path, sqlite_url)
    alerts.add_channel(c, ME, HOOK, events="monitor")

    def broken(*args: Any) -> None:
        raise RuntimeError("the reference sample is unreadable")

    monkeypatch.setattr(drift_checks, "check_model", broken)
    reports: list[dict[str, Any]] = []
    assert watch.watch(c, 60.0, True, reports.append, model_name="iris") == 1
    [decision] = reports[0]["decisions"]
    assert decision["action"] == "alert" and reports[0]["handoffs"] == []
    why = "the drift check failed: RuntimeError: the reference sample is unreadable"
    assert why in decision["reasons"]
    with c.reader() as uow:
        assert [r.kind for r in uow.session.query(CheckFailureRow)] == ["drift"]
    dispatch_once(c, Delivered())  # the watcher's own dispatcher may have taken it already
    with c.reader() as uow:
        [alert] = uow.session.query(AlertRow).all()
    assert (alert.kind, alert.severity) == ("monitor_alert", "warning")
    assert why in alert.summary
    c.close()


def test_a_monitor_agent_that_raises_is_kept_alerted_once_and_closed_by_a_working_watch(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.queries.status import home_status
    from database.models import AuditEventRow

    c = container
    alerts.add_channel(c, ME, HOOK, events="monitor")

    def broken(*args: Any) -> None:
        raise RuntimeError("the evidence query failed")

    with monkeypatch.context() as patched:
        patched.setattr(MonitorRepository, "evidence_many", broken)
        reports: list[dict[str, Any]] = []
        for _ in range(2):  # the tick goes on, and a second failure is kept but not told again
            assert watch.watch(c, 60.0, True, reports.append, model_name="iris") == 1
        assert all(r.get("decisions") is None for r in reports)
        [failing] = home_status(c)["monitor_failures"]
    assert failing["scope"] == "iris"
    assert "RuntimeError: the evidence query failed" in failing["message"]
    assert watch.watch(c, 60.0, True, lambda _r: None, model_name="iris") == 1
    with c.reader() as uow:
        kinds = [r.kind for r in uow.session.query(CheckFailureRow).order_by(CheckFailureRow.id)]
        events = [
            (e.action, e.payload.get("model"))
            for e in uow.session.query(AuditEventRow).order_by(AuditEventRow.id)
            if e.action.startswith("monitor_")
        ]
    assert kinds == ["monitor", "monitor", "monitor_ok"]
    assert events[:1] == [("monitor_failed", "iris")]
    assert ("monitor_recovered", "iris") in events and events.count(("monitor_failed", "iris")) == 1
    assert home_status(c)["monitor_failures"] == []
    dispatch_once(c, Delivered())
    with c.reader() as uow:
        sent = {(a.kind, a.severity) for a in uow.session.query(AlertRow)}
    assert {("monitor_failed", "warning"), ("monitor_recovered", "info")} <= sent


def test_a_running_shadow_that_fails_a_promotion_gate_is_alerted(container: Container) -> None:
    from database.models import HealthCheckRow
    from lifecycle.shadow_watch import FIGURES_KEY

    c, now = container, utcnow()
    shadow = serve(c.uow, "iris", version="2", deployment_id="iris-v2-shadow")
    slow = "shadow p95 180.0 ms is above 34.0 ms (1.2x the primary's 14.0 ms, or 20 ms above it)"
    with c.uow() as uow:
        uow.deployments.get(shadow).strategy = "shadow"
        uow.health_checks.add(
            HealthCheckRow(
                deployment_id=shadow,
                model_name="iris",
                checked_at=now,
                status="passed",  # agreement passed: the observe judgement itself is fine
                action="observe",
                metrics={
                    "agreement": 0.99,
                    FIGURES_KEY: [
                        {"gate": "shadow_latency", "status": "failed", "message": slow},
                        {"gate": "shadow_errors", "status": "passed", "message": "0.00%"},
                    ],
                },
                message="agreement 99%",
                tick_id="tick-1",
            )
        )
        uow.commit()
    with c.open_memory() as memory:
        out = run_monitor(MonitorDeps(c.uow, memory, actor=ME), InputState(requested_by=ME))
    [line] = out["decisions"]
    assert (line["action"], line["recorded"]) == ("alert", True)
    assert f"shadow {shadow} (v2) would not be promoted: {slow}" in line["reasons"]
    with c.reader() as uow:
        [row] = MonitorRepository(uow.session).decisions("iris")
    assert row.evidence["shadows"] == [{"deployment_id": shadow, "version": "2", "failed": [slow]}]
