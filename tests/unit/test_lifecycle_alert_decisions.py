"""The monitor agent's alerts (lifecycle.alert_decisions): its own words, its own urgency only
on its own events, the command to run, and the groups a channel can choose."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle import alert_decisions as decided
from lifecycle.alerts import GROUPS, RULES, Severity, Target, alert_for, parse_groups

IRIS = Target("iris", "1", "")


@pytest.mark.parametrize(
    ("action", "payload", "severity"),
    [
        ("monitor_alert", {"severity": "critical", "decision_id": 1}, Severity.CRITICAL),
        ("monitor_alert", {"severity": "info", "decision_id": 1}, Severity.INFO),
        ("monitor_alert", {"severity": "critical"}, Severity.WARNING),  # not a decision's
        ("monitor_alert", {"severity": "loud", "decision_id": 1}, Severity.WARNING),
        ("monitor_alert", {"decision_id": 1}, Severity.WARNING),
        ("rollback_requested", {"severity": "Critical", "decision_id": 2}, Severity.CRITICAL),
        ("retraining_requested", {"severity": "info", "decision_id": 3}, Severity.INFO),
        ("drift_detected", {"severity": "critical", "decision_id": 4}, Severity.WARNING),
        ("rolled_back", {"severity": "info", "decision_id": 5}, Severity.CRITICAL),
        ("monitor_failed", {"check": "monitor"}, Severity.WARNING),
        ("monitor_recovered", {"check": "monitor"}, Severity.INFO),
    ],
)
def test_only_a_monitor_decision_says_its_own_severity(
    action: str, payload: dict[str, Any], severity: Severity
) -> None:
    alert = alert_for(action, "iris", payload, "monitor", IRIS)
    assert alert is not None and alert.severity is severity


def test_a_decision_alert_says_the_decision_s_summary_else_where_to_look() -> None:
    assert decided.summary({"summary": "iris needs attention: x"}, IRIS) == (
        "iris needs attention: x"
    )
    assert decided.summary({}, IRIS) == "iris: see deployer decisions iris"


def test_the_command_is_the_approval_when_one_waits_else_the_decisions() -> None:
    assert decided.action({"approval_id": "apr-1"}, IRIS) == "deployer approve apr-1"
    assert decided.action({"approval_id": ""}, IRIS) == "deployer decisions iris"
    assert decided.action({}, IRIS) == "deployer decisions iris"
    assert decided.action({"check": "monitor"}, IRIS) == "deployer status"
    assert decided.action({"act": "deployer status iris"}, IRIS) == "deployer status iris"


def test_each_decision_event_has_its_group_and_channels_can_choose_them() -> None:
    assert {k: RULES[k].group for k in decided.GROUPS} == {
        "monitor_alert": "monitor",
        "retraining_requested": "retraining",
        "rollback_requested": "rollback",
        "monitor_failed": "monitor",
        "monitor_recovered": "monitor",
        "deployment_resize_failed": "deploy_failed",
    }
    assert decided.NEW_GROUPS == ("monitor", "retraining")
    assert GROUPS[-3:] == ("monitor", "retraining", "test")
    assert parse_groups("retraining,monitor") == ("monitor", "retraining")


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        ({"severity": "warning", "decision_id": 1}, "WARNING"),
        ({"severity": "Info", "decision_id": 1}, "INFO"),
        ({"severity": "critical", "decision_id": 1}, "CRITICAL"),
        ({"severity": 3, "decision_id": 1}, "DEFAULT"),
        ({"severity": "", "decision_id": 1}, "DEFAULT"),
        ({"decision_id": 1}, "DEFAULT"),
        ({"severity": "warning"}, "DEFAULT"),
    ],
)
def test_the_severity_named_is_the_decision_s_own_else_the_default(
    payload: dict[str, Any], name: str
) -> None:
    assert decided.severity("monitor_alert", payload, "DEFAULT") == name
    assert decided.severity("slo_breach", payload, "DEFAULT") == "DEFAULT"
