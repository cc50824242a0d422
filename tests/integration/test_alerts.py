"""Alerts on the real state database (SQLite and PostgreSQL), delivered to a real webhook and a
real SMTP server: every watched event arrives, a repeat is suppressed, a dead channel is failed
after retries with backoff, channel filters hold, two dispatchers never double-send, and a tick
is never held up by a slow channel."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agents.alerting import Dispatcher, dispatch_once, raise_alert
from agents.bootstrap import Container, bootstrap
from agents.handlers import alerts
from agents.settings import Settings, local_identity
from database.models_safety import AuditCheckRow
from lifecycle.alerts import lease_lost
from lifecycle.errors import BadInputError, PermissionDeniedError
from lifecycle.records import utcnow
from lifecycle.stages import DeploymentStatus
from tests.access_fixtures import grant_roles
from tests.alert_fakes import FakeNotifier
from tests.alert_receivers import Inbox, closed_port_url, smtp_receiver, webhook_receiver
from tests.integration.db_helpers import add_version, deployment_row
from tests.schema_template import migrated

ME = local_identity()


@pytest.fixture(scope="module")
def webhook() -> Iterator[Inbox]:
    with webhook_receiver() as inbox:
        yield inbox


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Inbox]:
    with smtp_receiver() as inbox:
        yield inbox


def make_container(tmp_path: Path, url: str, **env: str) -> Container:
    settings = Settings(
        DEPLOYER_HOME=str(tmp_path / "home"),
        DEPLOYER_DATABASE_URL=url,
        DEPLOYER_AUDIT_KEY="k" * 40,
        **env,
    )
    settings.ensure_home()
    migrated(settings.database_url)
    c = bootstrap(settings)
    grant_roles(c, {})
    add_version(c.session_factory, "iris", "2")
    with c.uow() as uow:
        uow.deployments.add(deployment_row("dep-1", DeploymentStatus.ACTIVE, "iris", "2"))
        uow.commit()
    return c


@pytest.fixture
def container(tmp_path: Path, database_url: str) -> Iterator[Container]:
    c = make_container(tmp_path, database_url)
    yield c
    c.close()


@pytest.fixture
def sqlite_container(tmp_path: Path, sqlite_url: str) -> Iterator[Container]:
    """For what the backend does not change (the rules above the repository)."""
    c = make_container(tmp_path, sqlite_url)
    yield c
    c.close()


def append(c: Container, actor: str, action: str, subject: str, **payload: Any) -> None:
    with c.uow() as uow:
        uow.audit.append(actor, action, subject, payload)
        uow.commit()


EVENTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("alice", "approval_requested", "iris/2", {"approval_id": "apr-1", "to": "production"}),
    ("bob", "approval_approved", "iris/2", {"approval_id": "apr-1"}),
    ("alice", "deploy_planned", "dep-1", {"strategy": "canary", "stage": "production"}),
    ("monitor", "canary_advanced", "dep-1", {"percent": 50}),
    ("monitor", "canary_completed", "dep-1", {}),
    ("monitor", "rolled_back", "iris", {"restored": "1", "reason": "error rate 4% > 1%"}),
    ("alice", "deploy_failed", "dep-1", {"errors": ["port in use"]}),
    ("monitor", "slo_breach", "dep-1", {"objective": "p95", "observed": 80, "limit": 50}),
    ("monitor", "drift_detected", "dep-1", {"features": ["petal_length"]}),
    ("monitor", "quality_drop", "iris", {"metric": "accuracy", "observed": 0.7}),
    ("monitor", "stale_figures", "dep-1", {"summary": "no figures for 3 ticks"}),
]


def test_every_watched_event_reaches_the_webhook_and_the_mailbox(
    container: Container, webhook: Inbox, mailbox: Inbox
) -> None:
    alerts.add_channel(container, ME, webhook.url)
    alerts.add_channel(container, ME, mailbox.url)
    hooks, mails = len(webhook.received), len(mailbox.received)
    for actor, action, subject, payload in EVENTS:
        append(container, actor, action, subject, **payload)
    append(container, "alice", "traffic_set", "dep-1", percent=10)  # nobody's emergency
    with container.uow() as uow:
        uow.session.add(
            AuditCheckRow(
                checked_at=utcnow(),
                checked_by="w",
                ok=False,
                checked=9,
                first_bad_id=4,
                problem="event 4 was changed",
            )
        )
        uow.commit()
    raise_alert(container, lease_lost("host:1:abc", "fence 3 is stale"), "lease:host:1:abc:3")

    report = dispatch_once(container)

    kinds = [
        "approval_requested",
        "approval_approved",
        "rollout_started",
        "rollout_advanced",
        "rollout_completed",
        "rolled_back",
        "deploy_failed",
        "slo_breach",
        "drift_detected",
        "quality_drop",
        "stale_figures",
        "audit_chain_broken",
        "lease_lost",
    ]
    assert [d["state"] for d in report["deliveries"]] == ["sent"] * 2 * len(kinds)
    got_hooks = webhook.wait_for(hooks + len(kinds))[hooks:]
    got_mails = mailbox.wait_for(mails + len(kinds))[mails:]
    assert sorted(m["title"].split()[1] for m in got_hooks) == sorted(kinds)
    assert sorted(m["subject"].split()[1] for m in got_mails) == sorted(kinds)
    breach = next(m for m in got_hooks if "slo_breach" in m["title"])
    assert breach["title"] == "[critical] slo_breach iris v2"
    assert (
        "deployment: dep-1" in breach["message"]
        and "act: deployer status iris" in breach["message"]
    )


def test_a_repeat_within_the_window_is_recorded_as_suppressed(
    container: Container, webhook: Inbox
) -> None:
    alerts.add_channel(container, ME, webhook.url, events="slo")
    before = len(webhook.received)
    for observed in (80, 95):
        append(container, "monitor", "slo_breach", "dep-1", objective="p95", observed=observed)
    dispatch_once(container)

    states = [(a["kind"], a["state"]) for a in alerts.alert_history(container, "1h")]
    assert states == [("slo_breach", "suppressed"), ("slo_breach", "sent")]
    assert len(webhook.wait_for(before + 1)) == before + 1


def test_a_dead_channel_is_retried_with_backoff_then_failed(
    tmp_path: Path, sqlite_url: str
) -> None:
    c = make_container(tmp_path, sqlite_url, DEPLOYER_ALERT_MAX_ATTEMPTS="3")
    dead = closed_port_url().replace("json://", "json://ops:s3cret@")
    alerts.add_channel(c, ME, dead)
    append(c, "monitor", "drift_detected", "dep-1", features=["f1"])
    now = [utcnow()]
    dispatcher = Dispatcher(c, c.notifier, clock=lambda: now[0])

    seen: list[tuple[str, int, datetime | None]] = []
    for step in (0, 5, 10):  # the backoff: 5 s after the first failure, 10 s after the second
        now[0] += timedelta(seconds=step)
        dispatcher.run_once()
        [row] = alerts.alert_history(c, "1h")
        seen.append((row["state"], row["attempts"], row["next_attempt_at"]))
        assert "s3cret" not in row["error"] and row["error"]
    assert [(s, a) for s, a, _ in seen] == [("pending", 1), ("pending", 2), ("failed", 3)]
    first, second, _ = (n for _, _, n in seen)
    assert first is not None and second is not None
    assert (second - first).total_seconds() == pytest.approx(10)
    c.close()


def test_a_channel_takes_only_its_groups_at_or_above_its_severity(
    tmp_path: Path, sqlite_url: str
) -> None:
    c = make_container(tmp_path, sqlite_url)
    fake = FakeNotifier()
    with webhook_receiver("/drift") as drift_hook, webhook_receiver("/critical") as loud_hook:
        alerts.add_channel(c, ME, drift_hook.url, events="drift")
        alerts.add_channel(c, ME, loud_hook.url, min_severity="critical")
        append(c, "monitor", "drift_detected", "dep-1", features=["f1"])
        append(c, "monitor", "rolled_back", "iris", restored="1", reason="errors")
        append(c, "alice", "canary_advanced", "dep-1", percent=50)
        dispatch_once(c, fake)
        assert [a.kind for a in fake.to(drift_hook.url)] == ["drift_detected"]
        assert [a.kind for a in fake.to(loud_hook.url)] == ["rolled_back"]
    c.close()


def test_channels_are_an_admins_and_a_bad_url_writes_nothing(sqlite_container: Container) -> None:
    with pytest.raises(BadInputError, match="not an alert channel URL"):
        alerts.add_channel(sqlite_container, ME, "nosuch://tok@host")
    with pytest.raises(BadInputError, match="unknown alert event"):
        alerts.add_channel(sqlite_container, ME, "json://127.0.0.1:9/h", events="rolback")
    with pytest.raises(
        PermissionDeniedError, match=r"is not an admin of tenant .default.; only one may"
    ):
        alerts.add_channel(sqlite_container, "mallory", "json://127.0.0.1:9/h")
    assert alerts.list_channels(sqlite_container) == []

    added = alerts.add_channel(
        sqlite_container, ME, "jsons://user:pw-secret@hooks.example/x?token=t0k"
    )
    [shown] = alerts.list_channels(sqlite_container)
    assert "pw-secret" not in shown["url"] and "t0k" not in shown["url"]
    with sqlite_container.reader() as uow:
        [event] = [e for e in uow.audit.list() if e.action == "alert_channel_added"]
    assert "pw-secret" not in str(event.payload) and event.payload["scheme"] == "jsons"
    with pytest.raises(PermissionDeniedError):
        alerts.remove_channel(sqlite_container, "mallory", added["id"])
    alerts.remove_channel(sqlite_container, ME, added["id"])
    assert alerts.list_channels(sqlite_container) == []


def test_two_dispatchers_on_one_database_never_double_send(container: Container) -> None:
    fake = FakeNotifier()
    alerts.add_channel(container, ME, "json://127.0.0.1:9/unused", events="")
    for percent in range(5):
        append(container, "monitor", "canary_advanced", f"dep-{percent}", percent=percent)
    start = threading.Barrier(2)
    sent: list[int] = []

    class Counting(FakeNotifier):
        def send(self, url: str, alert: Any) -> str | None:
            sent.append(1)
            return None

    def run() -> None:
        start.wait()
        Dispatcher(container, Counting()).run_once()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    Dispatcher(container, fake).run_once()  # whatever a lost race left is delivered once
    history = alerts.alert_history(container, "1h")
    assert len(history) == 5 and {a["state"] for a in history} == {"sent"}
    assert len(sent) + len(fake.sent) == 5


def test_a_test_alert_goes_to_the_channel_asked_and_says_how_it_went(
    sqlite_container: Container, webhook: Inbox
) -> None:
    live = alerts.add_channel(sqlite_container, ME, webhook.url, events="drift")
    dead = alerts.add_channel(sqlite_container, ME, closed_port_url())
    before = len(webhook.received)

    [outcome] = alerts.send_test(sqlite_container, ME, live["id"])
    assert (outcome["channel_id"], outcome["state"]) == (live["id"], "sent")
    assert "[info] test" in webhook.wait_for(before + 1)[-1]["title"]
    outcomes = alerts.send_test(sqlite_container, ME)
    assert [(o["channel_id"], o["state"]) for o in outcomes] == [
        (live["id"], "sent"),
        (dead["id"], "pending"),
    ]
    assert outcomes[1]["error"]


def test_a_tick_returns_while_the_dispatcher_is_still_sending(
    tmp_path: Path, sqlite_url: str, webhook: Inbox
) -> None:
    from agents.entrypoints.watch import watch

    c = make_container(tmp_path, sqlite_url)
    alerts.add_channel(c, ME, webhook.url)
    append(c, "monitor", "rolled_back", "iris", restored="1", reason="errors")
    released = threading.Event()
    slow = FakeNotifier(block=released)
    c.__dict__["notifier"] = slow  # the watcher's dispatcher sends through a channel that hangs
    reports: list[dict[str, Any]] = []

    def report(out: dict[str, Any]) -> None:
        # The tick is over when it reports; the send began and cannot end until released.
        assert slow.sending.wait(30)
        reports.append({**out, "send_finished": bool(slow.sent)})
        released.set()

    assert watch(c, interval=0.5, once=True, report=report) == 1
    assert [(r["status"], r["send_finished"]) for r in reports] == [("ticked", False)]
    assert [a.kind for a in slow.to(webhook.url)] == ["rolled_back"]
    c.close()


def test_the_chat_says_what_alerts_fired_today(sqlite_container: Container, webhook: Inbox) -> None:
    from agents.entrypoints.chat.chat import answer

    assert (
        answer(sqlite_container, "what alerts fired today?", ME).reply == "No alerts fired today."
    )
    alerts.add_channel(sqlite_container, ME, webhook.url)
    alerts.add_channel(sqlite_container, ME, closed_port_url())
    append(
        sqlite_container,
        "monitor",
        "rolled_back",
        "iris",
        restored="1",
        reason="error rate 4% > 1%",
    )
    dispatch_once(sqlite_container)

    said = answer(sqlite_container, "what alerts fired today?", ME)
    [headline, line] = said.reply.splitlines()
    assert headline == "1 alert fired today:"
    assert line.endswith(
        "[critical] iris rolled back to v1: error rate 4% > 1% (pending, sent)"
        " \N{EM DASH} deployer history iris"
    )
    assert said.exit_code == 0


def test_a_watcher_that_lost_its_lease_still_raises_the_alert(sqlite_container: Container) -> None:
    from agents.entrypoints import watch
    from database import leases

    fake = FakeNotifier()
    with webhook_receiver() as hook:
        alerts.add_channel(sqlite_container, ME, hook.url, events="lease")
        fence = watch.fence_writes(sqlite_container, "watcher-a")
        fence.token = 41  # a fence the lease table never issued: every fenced write is refused
        with pytest.raises(leases.StaleFenceError), sqlite_container.uow() as uow:
            uow.audit.append("monitor", "canary_advanced", "dep-1", {"percent": 5})
            uow.commit()

        watch.tell_lease_lost(sqlite_container, fence, "fence 41 is stale")
        dispatch_once(sqlite_container, fake)

    [alert] = fake.to(hook.url)
    assert (alert.kind, alert.severity.label) == ("lease_lost", "warning")
    assert "watcher-a lost its lease" in alert.summary
