"""The SLO guard end to end: a canary that completed, and starts failing afterwards, is rolled
back by ``deployer watch`` inside the guard window, to the deployment it replaced (kept warm).

Real gateway, real ``bentoml serve`` endpoints, users in a process of their own and the watcher
as a separate process. The endpoint turns bad after its release completed: its fault drill is a
file (``DEPLOYER_FAULT_FILE``) the test writes once the rollout is in its warm phase. The
rollout's own gates are set far off (error rate 100%, latency 1000x): only the service-level
objective (errors at most 5%) can call the breach. The people concerned hear of it: a real
webhook receiver and a real SMTP server (``tests/alert_receivers.py``) are the home's alert
channels, and the watcher's own dispatcher delivers the breach and the rollback to both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from agents.handlers import alerts
from tests.alert_receivers import smtp_receiver, webhook_receiver
from tests.e2e.test_cli_agent import Home, predict, processes_of, sample_rows, wait_for_comparisons
from tests.e2e.test_cli_watch import (
    MODEL,
    checks_of,
    drill_home,
    in_process,
    phase_of,
    promote,
    running_gateway,
    until,
    users,
    watcher,
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    env = {
        "DEPLOYER_CANARY_STEP_SECONDS": "2",
        "DEPLOYER_WARM_SECONDS": "2",
        "DEPLOYER_MIN_REQUESTS": "20",
        "DEPLOYER_MAX_ERROR_RATE": "1.0",
        "DEPLOYER_LATENCY_MULTIPLIER": "1000",
        "DEPLOYER_SLO_ERROR_RATE": "0.05",
        "DEPLOYER_SLO_LATENCY_FACTOR": "1000",
        "DEPLOYER_SLO_MIN_REQUESTS": "20",
        "DEPLOYER_SLO_WINDOW_SECONDS": "4",
        "DEPLOYER_SLO_GUARD_WINDOW_SECONDS": "300",
    }
    with drill_home(tmp_path_factory.mktemp("slo").resolve() / "home", env) as h:
        yield h


def test_a_completed_canary_that_starts_failing_is_rolled_back_inside_the_guard_window(
    home: Home,
) -> None:
    fault = home.root / "fault.json"
    with (
        webhook_receiver() as webhook,
        smtp_receiver() as mailbox,
        running_gateway(home) as gateway,
    ):
        with in_process(home) as c:  # the OS user ran `deployer init`: the home's first admin
            alerts.add_channel(c, c.settings.user, webhook.url, "slo,rollback", "warning")
            alerts.add_channel(c, c.settings.user, mailbox.url, "slo,rollback", "warning")
        promote(home, "1", "staging", "shadow", "production")
        v1 = home.ok("deploy", MODEL, "1")["deployment_manifest"]["deployment_id"]
        promote(home, "2", "staging", "shadow")
        shadow = home.ok("deploy", MODEL, "2")["deployment_manifest"]["deployment_id"]
        predict(gateway, sample_rows(home.models["1"], 30))
        wait_for_comparisons(home, shadow, 30)
        promote(home, "2", "production")

        with watcher(home), users(home, gateway):
            deployed = home.cli(
                "deploy",
                MODEL,
                "2",
                "--strategy",
                "canary",
                "--traffic",
                "20",
                "--json",
                DEPLOYER_FAULT_FILE=str(fault),
            )
            assert deployed.code == 0, deployed.stderr
            v2 = str(deployed.json()["deployment_manifest"]["deployment_id"])
            until(lambda: phase_of(home, v2) != "progressing", 120, "the canary never completed")
            assert phase_of(home, v2) == "warm", checks_of(home, v2)[-3:]
            assert home.weights() == {v2: 100.0} and home.status_of(v1) == "draining"

            fault.write_text(json.dumps({"error_rate": 0.5}))  # the release goes bad
            until(lambda: home.weights() == {v1: 100.0}, 60, "the breach was not rolled back")
            # Both channels hear of the breach and of the rollback (the dispatcher's thread).
            sent = "SELECT kind FROM alerts WHERE state = 'sent' AND kind IN (?, ?)"
            until(lambda: len(home.query(sent, "slo_breach", "rolled_back")) == 4, 60, "no alert")
            heard = [webhook.wait_for(2, 30), mailbox.wait_for(2, 30)]
        delivered = home.query("SELECT kind, state FROM alerts WHERE kind <> 'test'")

    hooked = " | ".join(f"{m.get('title')} {m.get('message')}" for m in heard[0])
    mailed = " | ".join(f"{m['subject']} {m['body']}" for m in heard[1])
    for said in (hooked, mailed):
        assert v2 in said and "error rate" in said, said  # the breach, naming the deployment
        assert "rolled back" in said, said  # and the automatic rollback
    assert sorted(delivered) == [("rolled_back", "sent")] * 2 + [("slo_breach", "sent")] * 2

    status, action, message = checks_of(home, v2)[-1]
    assert (status, action) == ("failed", "rollback"), message
    assert "error rate" in message and "above 5.00%" in message, message
    assert home.status_of(v2) == "rolled_back" and phase_of(home, v2) == "rolled_back"
    assert home.status_of(v1) == "active" and processes_of(v1)
    assert not processes_of(v2)
    ((payload,),) = home.query(
        "SELECT payload FROM audit_events WHERE action = 'slo_breach' AND subject = ?", v2
    )
    breach = json.loads(payload)
    assert (breach["model"], breach["version"], breach["deployment_id"]) == (MODEL, "2", v2)
    assert breach["objective"] == "error_rate" and breach["limit"] == 0.05
    assert breach["observed"] > 0.05 and breach["summary"]
    ((actor, rolled),) = home.query(
        "SELECT actor, payload FROM audit_events WHERE action = 'rolled_back' AND payload LIKE ?",
        f"%{v2}%",
    )
    assert actor == "monitor" and "automatic" in json.loads(rolled)["reason"]
