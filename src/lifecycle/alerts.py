"""Alerts: what an audit event means to the people watching, and when to tell them again.

Alerts are derived from the audit chain (the transactional outbox: an event commits with the
change it records, so a crash loses no alert). ``alert_for`` maps one event to an ``Alert`` (or
None: most events are nobody's emergency); ``audit_broken`` (the watcher's ``audit_checks``
rows) and ``lease_lost`` (raised by the watcher that notices) are built here too. A channel
takes the alerts its ``events`` groups and ``min_severity`` let through (``wants``); a repeat
inside the suppression window is recorded, not sent (``suppression_key``); a failed delivery is
retried after ``alert_timing.backoff(attempt)`` until ``max_attempts``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from lifecycle import alert_decisions as decided
from lifecycle import tenant_views
from lifecycle.errors import BadInputError, UnknownModelError
from lifecycle.retraining import RETRAINING_ALERTS, RETRAINING_TEXTS


class UnknownAlertChannelError(UnknownModelError):
    """No alert channel has this id (404 over the ops API, like an unknown model)."""


class UnusableChannelUrlError(BadInputError):
    """A well-formed URL the notifier cannot send to: an unknown service, a missing part (404
    over the ops API, like a model URI that names nothing; exit 2 on the command line)."""


MONITOR_ACTOR = "monitor"
"""The actor of what the watcher does on its own (``agents.model_deployer.deps``)."""


class Severity(IntEnum):
    """How urgent an alert is; a channel takes those at or above its minimum."""

    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()


def parse_severity(text: str) -> Severity:
    """``info``, ``warning`` or ``critical`` (any case); BadInputError otherwise."""
    try:
        return Severity[text.strip().upper()]
    except KeyError:
        raise BadInputError(
            f"unknown severity {text!r}; use one of info, warning, critical"
        ) from None


GROUPS = (
    "approval",
    "rollout",
    "rollback",
    "deploy_failed",
    "slo",
    "drift",
    "quality",
    "stale_figures",
    "audit",
    "lease",
    *decided.NEW_GROUPS,
    "test",
)
"""The event groups a channel can choose (``--events rollback,drift``); none chosen: all."""


def parse_groups(text: str) -> tuple[str, ...]:
    """A comma-separated list of groups, sorted and without repeats; "" or "all" is every group
    (the empty tuple). BadInputError names an unknown one."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    if not names or names == {"all"}:
        return ()
    unknown = sorted(names - set(GROUPS))
    if unknown:
        raise BadInputError(
            f"unknown alert event {unknown[0]!r}; use some of {', '.join(GROUPS)} (or all)"
        )
    return tuple(sorted(names))


@dataclass(frozen=True)
class Alert:
    """One thing to tell people: what, how urgent, about which model/version/deployment, and
    the command (or link) to act on it."""

    kind: str
    group: str
    severity: Severity
    summary: str
    model: str = ""
    version: str = ""
    deployment_id: str = ""
    action: str = ""

    @property
    def title(self) -> str:
        """The message's title: severity, kind and model."""
        about = f" {self.model}" + (f" v{self.version}" if self.version else "")
        return f"[{self.severity.label}] {self.kind}{about if self.model else ''}"

    @property
    def body(self) -> str:
        """The message's body: the summary, then where and what to do."""
        lines = [self.summary]
        if self.deployment_id:
            lines.append(f"deployment: {self.deployment_id}")
        if self.action:
            lines.append(f"act: {self.action}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    """What the dispatcher resolved for an event's subject (from ``ml_deployments`` when the
    subject is a deployment id); the payload's own values win."""

    model: str = ""
    version: str = ""
    deployment_id: str = ""


class Notifier(Protocol):
    """The port that delivers an alert to one channel URL."""

    def check(self, url: str) -> None:
        """BadInputError when ``url`` names no channel this notifier can send to."""

    def send(self, url: str, alert: Alert) -> str | None:
        """Deliver ``alert``; None when it was accepted, else the error (one line)."""


@dataclass(frozen=True)
class _Rule:
    kind: str
    group: str
    severity: Severity
    summary: Callable[[Mapping[str, Any], Target], str]
    action: Callable[[Mapping[str, Any], Target], str]


def _mv(t: Target) -> str:
    """``iris v2``, or ``iris`` when the version is not known."""
    return f"{t.model} v{t.version}" if t.version else t.model


def _restored(value: Any) -> str:
    """What a rollback restored: ``v1`` for a version, a deployment id as it is."""
    text = str(value or "the previous deployment")
    return f"v{text}" if text.isdigit() else text


def _status(_p: Mapping[str, Any], t: Target) -> str:
    return f"deployer status {t.model}" if t.model else "deployer status"


def _history(_p: Mapping[str, Any], t: Target) -> str:
    return f"deployer history {t.model}" if t.model else "deployer history"


def _said(p: Mapping[str, Any], key: str, default: str) -> str:
    """The payload's own summary, else its ``key``, else ``default``."""
    return str(p.get("summary") or p.get(key) or default)


RULES: dict[str, _Rule] = {
    "approval_requested": _Rule(
        "approval_requested",
        "approval",
        Severity.WARNING,
        lambda p, t: f"{_mv(t)} waits for approval to {p.get('to', 'production')}",
        lambda p, _t: f"deployer approve {p.get('approval_id', 'APPROVAL_ID')}",
    ),
    "approval_approved": _Rule(
        "approval_approved",
        "approval",
        Severity.INFO,
        lambda p, t: f"{_mv(t)} approved ({p.get('approval_id', '')})",
        _history,
    ),
    "approval_rejected": _Rule(
        "approval_rejected",
        "approval",
        Severity.INFO,
        lambda p, t: f"{_mv(t)} rejected ({p.get('approval_id', '')})",
        _history,
    ),
    "deploy_planned": _Rule(
        "rollout_started",
        "rollout",
        Severity.INFO,
        lambda p, t: f"{_mv(t)}: {p.get('strategy', 'a')} rollout started",
        _status,
    ),
    "deployed": _Rule(
        "deployed",
        "rollout",
        Severity.INFO,
        lambda p, t: (
            f"{_mv(t)} deployed ({p.get('strategy', '?')}, {p.get('traffic', '?')}% of traffic)"
        ),
        _status,
    ),
    "canary_advanced": _Rule(
        "rollout_advanced",
        "rollout",
        Severity.INFO,
        lambda p, t: f"{_mv(t)} canary now takes {p.get('percent', '?')}%",
        _status,
    ),
    "canary_completed": _Rule(
        "rollout_completed",
        "rollout",
        Severity.INFO,
        lambda _p, t: f"{_mv(t)} canary completed",
        _status,
    ),
    "rolled_back": _Rule(
        "rolled_back",
        "rollback",
        Severity.CRITICAL,
        lambda p, t: (
            f"{t.model} rolled back to {_restored(p.get('restored'))}: "
            f"{p.get('reason') or 'rolled back'}"
        ),
        _history,
    ),
    "shadow_stopped": _Rule(
        "shadow_stopped",
        "rollback",
        Severity.WARNING,
        lambda p, t: f"{_mv(t)} shadow stopped: {'; '.join(p.get('why') or [])}",
        _history,
    ),
    "stuck_deploy_rolled_back": _Rule(
        "stuck_deploy_rolled_back",
        "rollback",
        Severity.CRITICAL,
        lambda p, t: f"{_mv(t)}: a crashed deploy was rolled back ({p.get('why')})",
        _history,
    ),
    "deploy_failed": _Rule(
        "deploy_failed",
        "deploy_failed",
        Severity.CRITICAL,
        lambda p, t: f"{_mv(t)} deploy failed: {'; '.join(p.get('errors') or [])}",
        _history,
    ),
    "slo_breach": _Rule(
        "slo_breach",
        "slo",
        Severity.CRITICAL,
        lambda p, t: str(
            p.get("summary")
            or f"{_mv(t)} breaches {p.get('objective')}: {p.get('observed')} > {p.get('limit')}"
        ),
        _status,
    ),
    "slo_recovered": _Rule(
        "slo_recovered",
        "slo",
        Severity.INFO,
        lambda p, _t: _said(p, "objective", "service level recovered"),
        _status,
    ),
    "slo_rollback_proposed": _Rule(
        "slo_rollback_proposed",
        "slo",
        Severity.CRITICAL,
        lambda p, _t: _said(p, "objective", "a rollback is proposed"),
        lambda p, t: str(p.get("command") or f"deployer rollback {t.model}"),
    ),
    "drift_detected": _Rule(
        "drift_detected",
        "drift",
        Severity.WARNING,
        lambda p, t: str(
            p.get("summary") or f"{t.model} drifts on {', '.join(p.get('features') or [])}"
        ),
        lambda _p, t: f"deployer drift {t.model}",
    ),
    "quality_drop": _Rule(
        "quality_drop",
        "quality",
        Severity.WARNING,
        lambda p, t: str(
            p.get("summary")
            or f"{t.model} {p.get('metric')} {p.get('observed')} < approved {p.get('approved')}"
        ),
        _status,
    ),
    "stale_figures": _Rule(
        "stale_figures",
        "stale_figures",
        Severity.CRITICAL,
        lambda p, _t: _said(p, "why", "the gateways stopped reporting"),
        _status,
    ),
    **{
        k: _Rule(k, g, Severity.WARNING, decided.summary, decided.action)
        for k, g in decided.GROUPS.items()
    },
}
"""Audit action -> alert; an action not here raises no alert. Below: how a retraining ended."""
RULES |= {a: _Rule(a, "retraining", Severity(s), *RETRAINING_TEXTS) for a, s in RETRAINING_ALERTS}


def _target(subject: str, payload: Mapping[str, Any], known: Target) -> Target:
    model, version = tenant_views.subject_parts(subject)  # team-a/fraud/3, team-a/fraud
    return Target(
        model=str(payload.get("model") or model or known.model),
        version=str(payload.get("version") or version or known.version),
        deployment_id=str(payload.get("deployment_id") or known.deployment_id),
    )


def alert_for(
    action: str,
    subject: str,
    payload: Mapping[str, Any],
    actor: str,
    known: Target | None = None,
) -> Alert | None:
    """The alert an audit event raises, or None. ``known`` is what the caller resolved for the
    subject (a deployment's model and version; a bare model name)."""
    rule = RULES.get(action)
    if rule is None:
        return None
    target = _target(subject, payload, known or Target())
    summary = " ".join(rule.summary(payload, target).split())[:300]
    severity = rule.severity
    if action == "rolled_back" and actor != MONITOR_ACTOR:
        severity = Severity.WARNING  # a person's rollback: they know; the others should too
    severity = Severity[decided.severity(action, payload, severity.name)]
    return Alert(
        kind=rule.kind,
        group=rule.group,
        severity=severity,
        summary=summary,
        model=target.model,
        version=target.version,
        deployment_id=target.deployment_id,
        action=rule.action(payload, target),
    )


def audit_broken(first_bad_id: int | None, problem: str) -> Alert:
    """The alert of a failed scheduled audit verification."""
    where = f" at event {first_bad_id}" if first_bad_id is not None else ""
    return Alert(
        kind="audit_chain_broken",
        group="audit",
        severity=Severity.CRITICAL,
        summary=f"the audit chain is broken{where}: {problem}"[:300],
        action="deployer audit verify",
    )


def lease_lost(holder: str, why: str) -> Alert:
    """The alert a watcher raises when it finds its lease taken over mid-tick."""
    return Alert(
        kind="lease_lost",
        group="lease",
        severity=Severity.WARNING,
        summary=f"watcher {holder} lost its lease mid-tick: {why}"[:300],
        action="deployer status",
    )


def trial_alert(user: str) -> Alert:
    """The alert ``deployer alerts test`` sends."""
    return Alert(
        kind="test",
        group="test",
        severity=Severity.INFO,
        summary=f"a test alert sent by {user}",
        action="deployer alerts history",
    )


def wants(groups: tuple[str, ...], min_severity: Severity, alert: Alert) -> bool:
    """Whether a channel choosing ``groups`` (empty: all) at ``min_severity`` takes ``alert``;
    a test alert goes to the channel it tests whatever its filters."""
    if alert.group == "test":
        return True
    return (not groups or alert.group in groups) and alert.severity >= min_severity


def suppression_key(alert: Alert) -> tuple[str, str, str]:
    """Alerts with the same key inside the suppression window are one alert told once."""
    return (alert.kind, alert.model, alert.deployment_id)
