"""The pure alert rules: which audit event raises which alert, filters, suppression, backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifecycle.alert_timing import backoff, next_attempt, parse_window
from lifecycle.alerts import (
    Alert,
    Severity,
    Target,
    alert_for,
    audit_broken,
    lease_lost,
    parse_groups,
    parse_severity,
    suppression_key,
    trial_alert,
    wants,
)
from lifecycle.errors import BadInputError

DEP = Target("iris", "2", "dep-1")


@pytest.mark.parametrize(
    ("action", "subject", "payload", "actor", "kind", "severity", "action_text"),
    [
        (
            "approval_requested",
            "iris/2",
            {"approval_id": "apr-1", "to": "production"},
            "ann",
            "approval_requested",
            Severity.WARNING,
            "deployer approve apr-1",
        ),
        (
            "approval_approved",
            "iris/2",
            {"approval_id": "apr-1"},
            "bob",
            "approval_approved",
            Severity.INFO,
            "deployer history iris",
        ),
        (
            "approval_rejected",
            "iris/2",
            {"approval_id": "apr-1"},
            "bob",
            "approval_rejected",
            Severity.INFO,
            "deployer history iris",
        ),
        (
            "deploy_planned",
            "dep-1",
            {"strategy": "canary"},
            "ann",
            "rollout_started",
            Severity.INFO,
            "deployer status iris",
        ),
        (
            "deployed",
            "dep-1",
            {"strategy": "direct", "traffic": 100.0},
            "ann",
            "deployed",
            Severity.INFO,
            "deployer status iris",
        ),
        (
            "canary_advanced",
            "dep-1",
            {"percent": 50},
            "monitor",
            "rollout_advanced",
            Severity.INFO,
            "deployer status iris",
        ),
        (
            "canary_completed",
            "dep-1",
            {},
            "monitor",
            "rollout_completed",
            Severity.INFO,
            "deployer status iris",
        ),
        (
            "rolled_back",
            "iris",
            {"restored": "1", "reason": "error rate"},
            "monitor",
            "rolled_back",
            Severity.CRITICAL,
            "deployer history iris",
        ),
        (
            "rolled_back",
            "iris",
            {"restored": "1", "reason": "by hand"},
            "ann",
            "rolled_back",
            Severity.WARNING,
            "deployer history iris",
        ),
        (
            "deploy_failed",
            "dep-1",
            {"errors": ["port in use"]},
            "ann",
            "deploy_failed",
            Severity.CRITICAL,
            "deployer history iris",
        ),
        (
            "slo_breach",
            "dep-1",
            {"objective": "p95", "observed": 80, "limit": 50},
            "monitor",
            "slo_breach",
            Severity.CRITICAL,
            "deployer status iris",
        ),
        (
            "slo_recovered",
            "dep-1",
            {"summary": "p95 back under 50 ms"},
            "monitor",
            "slo_recovered",
            Severity.INFO,
            "deployer status iris",
        ),
        (
            "slo_rollback_proposed",
            "dep-1",
            {"command": "deployer rollback iris --to 1"},
            "monitor",
            "slo_rollback_proposed",
            Severity.CRITICAL,
            "deployer rollback iris --to 1",
        ),
        (
            "drift_detected",
            "dep-1",
            {"features": ["petal_length"]},
            "monitor",
            "drift_detected",
            Severity.WARNING,
            "deployer drift iris",
        ),
        (
            "quality_drop",
            "iris",
            {"metric": "accuracy", "observed": 0.7, "approved": 0.9},
            "monitor",
            "quality_drop",
            Severity.WARNING,
            "deployer status iris",
        ),
        (
            "stale_figures",
            "dep-1",
            {"summary": "no figures for 3 ticks"},
            "monitor",
            "stale_figures",
            Severity.CRITICAL,
            "deployer status iris",
        ),
        (
            "monitor_alert",
            "iris",
            {"model": "iris", "summary": "iris: drift on 1 feature (a); no retraining policy"},
            "monitor",
            "monitor_alert",
            Severity.WARNING,
            "deployer decisions iris",
        ),
        (
            "monitor_alert",
            "iris",
            {"summary": "iris: figures stale", "severity": "critical", "decision_id": 3},
            "monitor",
            "monitor_alert",
            Severity.CRITICAL,
            "deployer decisions iris",
        ),
        (
            "retraining_requested",
            "iris",
            {"summary": "iris retraining requested", "severity": "info", "decision_id": 2},
            "monitor",
            "retraining_requested",
            Severity.INFO,
            "deployer decisions iris",
        ),
        (
            "retraining_requested",
            "iris",
            {"approval_id": "apr-1", "severity": "warning", "decision_id": 4},
            "monitor",
            "retraining_requested",
            Severity.WARNING,
            "deployer approve apr-1",
        ),
        (
            "rollback_requested",
            "iris",
            {
                "model": "iris",
                "summary": "dep-2 breaches",
                "severity": "critical",
                "decision_id": 5,
            },
            "monitor",
            "rollback_requested",
            Severity.CRITICAL,
            "deployer decisions iris",
        ),
        (
            "monitor_failed",
            "iris",
            {"model": "iris", "check": "monitor", "summary": "the monitor agent failed: boom"},
            "monitor",
            "monitor_failed",
            Severity.WARNING,
            "deployer status",
        ),
        (
            "monitor_recovered",
            "iris",
            {"check": "monitor", "summary": "the monitor agent works again"},
            "monitor",
            "monitor_recovered",
            Severity.INFO,
            "deployer status",
        ),
        (
            "retraining_failed",
            "iris",
            {"model": "iris", "summary": "too few labelled predictions"},
            "monitor",
            "retraining_failed",
            Severity.WARNING,
            "deployer retraining runs iris",
        ),
        (
            "retraining_stalled",
            "iris",
            {"model": "iris", "summary": "iris's retraining run rt-1 failed: stalled"},
            "monitor",
            "retraining_stalled",
            Severity.WARNING,
            "deployer retraining runs iris",
        ),
        (
            "retraining_resumed",
            "iris",
            {"model": "iris", "summary": "iris's retraining run rt-1 resumed"},
            "monitor",
            "retraining_resumed",
            Severity.INFO,
            "deployer retraining runs iris",
        ),
        (
            "retraining_not_better",
            "iris",
            {"summary": "accuracy 0.5 < production 0.9"},
            "ann",
            "retraining_not_better",
            Severity.WARNING,
            "deployer retraining runs iris",
        ),
        (
            "retraining_handed_over",
            "iris",
            {"summary": "accuracy 0.95 >= production 0.9"},
            "ann",
            "retraining_handed_over",
            Severity.INFO,
            "deployer retraining runs iris",
        ),
        (
            "shadow_stopped",
            "dep-1",
            {"why": ["disagrees"]},
            "monitor",
            "shadow_stopped",
            Severity.WARNING,
            "deployer history iris",
        ),
        (
            "stuck_deploy_rolled_back",
            "dep-1",
            {"why": "no progress"},
            "monitor",
            "stuck_deploy_rolled_back",
            Severity.CRITICAL,
            "deployer history iris",
        ),
    ],
)
def test_each_watched_event_raises_its_alert(
    action: str,
    subject: str,
    payload: dict[str, Any],
    actor: str,
    kind: str,
    severity: Severity,
    action_text: str,
) -> None:
    known = DEP if subject == "dep-1" else Target(model="iris")
    alert = alert_for(action, subject, payload, actor, known)
    assert alert is not None
    assert (alert.kind, alert.severity, alert.action) == (kind, severity, action_text)
    assert (alert.model, alert.version) == ("iris", "" if subject == "iris" else "2")
    assert alert.summary and "\n" not in alert.summary


@pytest.mark.parametrize(
    "action", ["packaged", "traffic_set", "access_granted", "alert_channel_added", "x"]
)
def test_other_events_raise_no_alert(action: str) -> None:
    assert alert_for(action, "iris", {}, "ann") is None


def test_the_payload_names_win_over_what_was_resolved() -> None:
    payload = {"model": "fraud", "version": "7", "deployment_id": "dep-9", "summary": "p99"}
    alert = alert_for("slo_breach", "dep-9", payload, "monitor", Target("x", "1", "dep-1"))
    assert alert is not None
    assert (alert.model, alert.version, alert.deployment_id, alert.summary) == (
        "fraud",
        "7",
        "dep-9",
        "p99",
    )


def test_a_summary_is_one_bounded_line() -> None:
    alert = alert_for("deploy_failed", "dep-1", {"errors": ["a\nb", "c" * 500]}, "", DEP)
    assert alert is not None
    assert "\n" not in alert.summary and len(alert.summary) <= 300


def test_the_message_says_what_where_and_how_to_act() -> None:
    alert = alert_for("drift_detected", "dep-1", {"features": ["f1"]}, "monitor", DEP)
    assert alert is not None
    assert alert.title == "[warning] drift_detected iris v2"
    assert alert.body.splitlines() == [
        "iris drifts on f1",
        "deployment: dep-1",
        "act: deployer drift iris",
    ]


def test_the_two_alerts_from_outside_the_chain() -> None:
    broken = audit_broken(12, "event 12 was changed")
    assert (broken.kind, broken.severity) == ("audit_chain_broken", Severity.CRITICAL)
    assert broken.summary == "the audit chain is broken at event 12: event 12 was changed"
    assert broken.action == "deployer audit verify"
    lost = lease_lost("host:1:abc", "fence 3 is stale")
    assert (lost.kind, lost.group) == ("lease_lost", "lease")


@pytest.mark.parametrize(
    ("groups", "minimum", "group", "severity", "taken"),
    [
        ((), Severity.INFO, "drift", Severity.WARNING, True),
        (("rollback", "drift"), Severity.INFO, "drift", Severity.WARNING, True),
        (("rollback",), Severity.INFO, "drift", Severity.WARNING, False),
        ((), Severity.CRITICAL, "drift", Severity.WARNING, False),
        (("drift",), Severity.WARNING, "drift", Severity.WARNING, True),
        (("rollback",), Severity.CRITICAL, "test", Severity.INFO, True),
    ],
)
def test_a_channel_takes_its_groups_at_or_above_its_severity(
    groups: tuple[str, ...], minimum: Severity, group: str, severity: Severity, taken: bool
) -> None:
    assert wants(groups, minimum, Alert("k", group, severity, "s")) is taken


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("", ()),
        ("all", ()),
        ("rollback,drift", ("drift", "rollback")),
        (" DRIFT , drift", ("drift",)),
    ],
)
def test_event_groups_parse(text: str, groups: tuple[str, ...]) -> None:
    assert parse_groups(text) == groups


def test_an_unknown_group_or_severity_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="unknown alert event 'rolback'"):
        parse_groups("rolback")
    with pytest.raises(BadInputError, match="unknown severity"):
        parse_severity("loud")
    assert parse_severity("Warning") is Severity.WARNING


def test_repeats_share_kind_model_and_deployment() -> None:
    a = Alert("slo_breach", "slo", Severity.CRITICAL, "p95 80", "iris", "2", "dep-1")
    b = Alert("slo_breach", "slo", Severity.CRITICAL, "p95 90", "iris", "2", "dep-1")
    c = Alert("slo_breach", "slo", Severity.CRITICAL, "p95 90", "iris", "3", "dep-2")
    assert suppression_key(a) == suppression_key(b) != suppression_key(c)


@pytest.mark.parametrize(
    ("attempt", "seconds"), [(0, 0.0), (1, 5.0), (2, 10.0), (3, 20.0), (8, 600.0), (30, 600.0)]
)
def test_backoff_doubles_up_to_a_cap(attempt: int, seconds: float) -> None:
    assert backoff(attempt) == seconds


def test_a_delivery_is_retried_until_its_attempts_run_out() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert next_attempt(1, 3, now) == now + timedelta(seconds=5)
    assert next_attempt(2, 3, now) == now + timedelta(seconds=10)
    assert next_attempt(3, 3, now) is None


def test_a_trial_alert_names_who_sent_it() -> None:
    assert "ann" in trial_alert("ann").summary


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("2h", 7200), ("1d", 86400), ("1W", 604800), ("45s", 45)]
)
def test_a_history_window_parses(text: str, seconds: int) -> None:
    assert parse_window(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "d", "0h", "-1d", "1y", "day", "903509D"])
def test_a_bad_window_is_bad_input(text: str) -> None:
    with pytest.raises(BadInputError, match="is not a duration"):
        parse_window(text)


def test_without_a_model_the_commands_name_none() -> None:
    failed = alert_for("deploy_failed", "dep-x", {"errors": ["e"]}, "ann", Target())
    advanced = alert_for("canary_advanced", "dep-x", {"percent": 5}, "monitor", Target())
    assert failed is not None and failed.action == "deployer history"
    assert advanced is not None and advanced.action == "deployer status"


def test_without_a_version_the_summary_names_the_model_alone() -> None:
    alert = alert_for("canary_advanced", "dep-9", {"percent": 5}, "monitor", Target("iris"))
    assert alert is not None and alert.summary == "iris canary now takes 5%"
    assert alert.title == "[info] rollout_advanced iris"


@pytest.mark.parametrize(
    ("restored", "said"),
    [("1", "v1"), ("iris-v1-ab12", "iris-v1-ab12"), (None, "the previous deployment")],
)
def test_a_rollback_names_what_it_restored(restored: str | None, said: str) -> None:
    payload = {"restored": restored, "reason": "r"}
    alert = alert_for("rolled_back", "iris", payload, "monitor", Target("iris"))
    assert alert is not None and alert.summary == f"iris rolled back to {said}: r"


@pytest.mark.parametrize(
    ("payload", "summary"),
    [
        ({"summary": "p95 back", "objective": "p95"}, "p95 back"),
        ({"objective": "p95"}, "p95"),
        ({}, "service level recovered"),
    ],
)
def test_a_recovery_says_its_summary_else_its_objective(
    payload: dict[str, Any], summary: str
) -> None:
    alert = alert_for("slo_recovered", "dep-1", payload, "monitor", DEP)
    assert alert is not None and alert.summary == summary


def test_a_subject_splits_into_model_and_version_at_the_last_slash() -> None:
    alert = alert_for("approval_approved", "team-a/iris/2", {"approval_id": "a"}, "bob")
    assert alert is not None and (alert.model, alert.version) == ("team-a/iris", "2")
    other = alert_for("approval_approved", "iris/2/x", {"approval_id": "a"}, "bob")
    assert other is not None and (other.model, other.version) == ("", "")  # no version key


def test_the_outside_alerts_say_exactly_what_and_where() -> None:
    assert audit_broken(None, "the head is missing").summary == (
        "the audit chain is broken: the head is missing"
    )
    broken = audit_broken(3, "x" * 400)
    assert (broken.group, len(broken.summary)) == ("audit", 300)
    lost = lease_lost("w", "y" * 400)
    assert (lost.action, lost.severity, len(lost.summary)) == (
        "deployer status",
        Severity.WARNING,
        300,
    )
    trial = trial_alert("ann")
    assert (trial.kind, trial.group, trial.action) == ("test", "test", "deployer alerts history")


def test_an_unknown_group_names_the_known_ones() -> None:
    with pytest.raises(BadInputError) as refused:
        parse_groups("nope")
    assert "use some of approval, rollout, rollback," in str(refused.value)


def test_the_backoff_base_is_the_callers() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert next_attempt(1, 3, now, base_seconds=2.0) == now + timedelta(seconds=2)
    assert next_attempt(3, 5, now, base_seconds=2.0) == now + timedelta(seconds=8)


def test_a_summary_names_the_version_when_it_is_known() -> None:
    payload = {"approval_id": "apr-1", "to": "production"}
    alert = alert_for("approval_requested", "iris/2", payload, "ann")
    assert alert is not None and alert.summary == "iris v2 waits for approval to production"


@pytest.mark.parametrize(
    ("payload", "summary"),
    [
        ({"summary": "no figures for 3 ticks", "why": "w"}, "no figures for 3 ticks"),
        ({"why": "gateways silent"}, "gateways silent"),
        ({}, "the gateways stopped reporting"),
    ],
)
def test_stale_figures_say_their_summary_else_why(payload: dict[str, Any], summary: str) -> None:
    alert = alert_for("stale_figures", "dep-1", payload, "monitor", DEP)
    assert alert is not None and alert.summary == summary
