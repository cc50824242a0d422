"""The monitor agent's decision (lifecycle.watch_decisions): every trigger, the cool-down, one
run at a time, no policy, expensive training, several triggers, the cron schedule, rollbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifecycle.alerts import Severity
from lifecycle.errors import BadInputError
from lifecycle.retraining import RetrainingPolicy, Trigger
from lifecycle.shadow_watch import ShadowEvidence
from lifecycle.watch_decisions import (
    CheckFailure,
    DriftEvidence,
    Evidence,
    QualityEvidence,
    SloEvidence,
    WatchAction,
    decide,
    next_fire,
    schedule_due,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def policy(**kw: Any) -> RetrainingPolicy:
    return RetrainingPolicy(model_name="iris", project="/p", **kw)


def drift(*drifted: str, verdict: str = "drift", features: int = 4) -> DriftEvidence:
    figures = {f: {"p_value": 0.001, "psi": 0.4} for f in drifted}
    return DriftEvidence(
        version="1",
        checked_at=NOW,
        verdict=verdict,
        drifted=drifted,
        features=features,
        figures=figures,
    )


def quality(observed: float, approved: float = 0.95, metric: str = "accuracy") -> QualityEvidence:
    worse = observed > approved if metric == "mae" else observed < approved
    return QualityEvidence(
        version="1",
        checked_at=NOW,
        verdict="drop" if worse else "ok",
        metric=metric,
        observed=observed,
        approved=approved,
        labelled=200,
    )


def slo(status: str = "passed", **kw: Any) -> SloEvidence:
    return SloEvidence(deployment_id="dep-2", version="2", status=status, **kw)


OK = slo()
BREACH = slo(
    "failed",
    failed_checks=3,
    guard="propose",
    warm_target="dep-1",
    breaches=("error rate 0.3 above 0.05",),
)


def ev(**kw: Any) -> Evidence:
    kw.setdefault("slo", (OK,))
    return Evidence(model_name="iris", **kw)


SLOW_SHADOW = ShadowEvidence(
    deployment_id="dep-3", version="3", failed=("shadow p95 90.0 ms is above 24.0 ms",)
)


CASES: list[tuple[str, Evidence, RetrainingPolicy | None, datetime | None, Any, Any, str]] = [
    # (name, evidence, policy, last run began, action, trigger, a reason that must be there)
    ("all quiet", ev(drift=drift()), policy(drift_features=2), None, "nothing", None,
     "within objectives on 1 deployment; no drift in 4 features"),
    ("no drift check yet", ev(), None, None, "nothing", None, "no drift check yet"),
    ("drift inconclusive", ev(drift=drift(verdict="inconclusive")), None, None, "nothing",
     None, "drift inconclusive"),
    ("quality fine is said", ev(quality=quality(0.96)), None, None, "nothing", None,
     "accuracy 0.9600 (approved 0.9500)"),
    ("drift on enough features retrains", ev(drift=drift("a", "b")),
     policy(drift_features=2), None, "retrain", Trigger.DRIFT,
     "drift on 2 features (a, b), at least 2"),
    ("drift on more features retrains", ev(drift=drift("a", "b", "c")),
     policy(drift_features=2), None, "retrain", Trigger.DRIFT, "drift on 3 features"),
    ("drift below the threshold alerts", ev(drift=drift("a")), policy(drift_features=2), None,
     "alert", None, "drift on 1 feature (a), below the policy's 2"),
    ("drift with a policy that ignores drift alerts", ev(drift=drift("a")),
     policy(quality_drop=0.05), None, "alert", None, "; the policy does not retrain on drift"),
    ("drift without a policy alerts", ev(drift=drift("a", "b")), None, None, "alert", None,
     "no retraining policy"),
    ("quality drop beyond the margin retrains", ev(quality=quality(0.85)),
     policy(quality_drop=0.05), None, "retrain", Trigger.QUALITY,
     "accuracy 0.8500 vs approved 0.9500 (drop 0.1000), more than 0.05"),
    ("quality drop within the margin alerts", ev(quality=quality(0.93)),
     policy(quality_drop=0.05), None, "alert", None, "within the policy's 0.05"),
    ("quality drop without a policy alerts", ev(quality=quality(0.85)), None, None, "alert",
     None, "no retraining policy"),
    ("a regressor's error going up is a drop", ev(quality=quality(3.0, 2.0, "mae")),
     policy(quality_drop=0.5), None, "retrain", Trigger.QUALITY, "drop 1.0000"),
    ("a regressor's error going down is none", ev(quality=quality(1.0, 2.0, "mae")),
     policy(quality_drop=0.5), None, "nothing", None, "mae 1.0000"),
    ("several triggers: one retrain naming drift, all reasons",
     ev(drift=drift("a", "b"), quality=quality(0.8)),
     policy(drift_features=1, quality_drop=0.05), None, "retrain", Trigger.DRIFT,
     "more than 0.05"),
    ("an active run holds a retrain back", ev(drift=drift("a", "b"), active_run="rt-7"),
     policy(drift_features=1), NOW - 10 * HOUR, "nothing", Trigger.DRIFT,
     "already being retrained (run rt-7)"),
    ("inside the cool-down drift alerts", ev(drift=drift("a", "b")),
     policy(drift_features=1, cooldown_seconds=6 * 3600), NOW - 2 * HOUR, "alert",
     Trigger.DRIFT, "cool-down until 16:00"),
    ("after the cool-down drift retrains", ev(drift=drift("a", "b")),
     policy(drift_features=1, cooldown_seconds=6 * 3600), NOW - 7 * HOUR, "retrain",
     Trigger.DRIFT, "drift on 2 features"),
    ("the cool-down ends exactly now", ev(drift=drift("a")),
     policy(drift_features=1, cooldown_seconds=3600), NOW - HOUR, "retrain", Trigger.DRIFT,
     "at least 1"),
    ("expensive training retrains with an approval", ev(quality=quality(0.8)),
     policy(quality_drop=0.05, expensive=True), None, "retrain", Trigger.QUALITY,
     "training is expensive: a person approves first"),
    ("the schedule came due since the last run", ev(),
     policy(schedule="0 3 * * *", cooldown_seconds=0), NOW - 10 * HOUR, "retrain",
     Trigger.SCHEDULE, "schedule 0 3 * * * came due"),
    ("the schedule not due since the last run", ev(),
     policy(schedule="0 3 * * *", cooldown_seconds=0), NOW - 8 * HOUR, "nothing", None,
     "within objectives"),
    ("a run long ago: the schedule is due", ev(),
     policy(schedule="0 3 * * 1"), NOW - 400 * 24 * HOUR, "retrain", Trigger.SCHEDULE,
     "came due"),
    ("never run: due once it fired since the policy was set",
     ev(policy_set_at=NOW - 48 * HOUR), policy(schedule="0 3 * * *"), None, "retrain",
     Trigger.SCHEDULE, "came due"),
    ("never run: not due before it fires after the policy was set",
     ev(policy_set_at=NOW - HOUR), policy(schedule="0 3 * * *"), None, "nothing", None,
     "within objectives"),
    ("never run and no policy time: never due", ev(), policy(schedule="* * * * *"), None,
     "nothing", None, "within objectives"),
    ("nothing judged yet is said", ev(slo=()), None, None, "nothing", None,
     "no SLO judged yet; no drift check yet"),
    ("a schedule inside the cool-down does nothing", ev(),
     policy(schedule="0 * * * *", cooldown_seconds=6 * 3600), NOW - 2 * HOUR, "nothing",
     Trigger.SCHEDULE, "cool-down until 16:00"),
    ("a sustained breach with a warm target asks for a rollback", ev(slo=(BREACH,)), None,
     None, "rollback", None, "roll back to the warm dep-1"),
    ("a rollback wins over a retrain and keeps its reasons",
     ev(slo=(BREACH,), drift=drift("a", "b")), policy(drift_features=1), None, "rollback",
     None, "drift on 2 features (a, b), at least 1"),
    ("a breach without a warm target alerts", ev(slo=(BREACH.model_copy(update={
        "warm_target": None}),)), None, None, "alert", None, "no warm deployment to roll back to"),
    ("a fresh breach alerts until it is sustained", ev(slo=(BREACH.model_copy(update={
        "failed_checks": 1}),)), None, None, "alert", None, "breached 1 of 3 checks in a row"),
    ("a breach a rollout owns is the deployer's", ev(slo=(BREACH.model_copy(update={
        "in_rollout": True}),)), None, None, "alert", None, "the deployer is rolling it back"),
    ("a breach the guard acts on is the deployer's", ev(slo=(BREACH.model_copy(update={
        "guard": "act"}),)), None, None, "alert", None, "the deployer is rolling it back"),
    ("a passing deployment beside a breaching one", ev(slo=(OK.model_copy(update={
        "deployment_id": "dep-1"}), BREACH.model_copy(update={"warm_target": None}))), None,
     None, "alert", None, "no warm deployment"),
    ("a breach lists every objective it misses", ev(slo=(BREACH.model_copy(update={
        "warm_target": None, "breaches": ("p95 80 ms above 50", "errors 0.2 above 0.05")}),)),
     None, None, "alert", None, "p95 80 ms above 50; errors 0.2 above 0.05"),
    ("a breach without its figures still says so", ev(slo=(BREACH.model_copy(update={
        "warm_target": None, "breaches": ()}),)), None, None, "alert", None, "SLO breached"),
    ("a drop exactly at the margin is within it", ev(quality=quality(0.5, 1.0)),
     policy(quality_drop=0.5), None, "alert", None, "within the policy's 0.5"),
    ("an active run with a failed check warns", ev(drift=drift("a"), active_run="rt-1",
     failures=(CheckFailure(kind="drift", failed_at=NOW, message="boom"),)),
     policy(drift_features=1), None, "alert", Trigger.DRIFT, "the drift check failed: boom"),
    ("stale figures alert", ev(stale=("dep-2: figures stale for 3 ticks",)), None, None,
     "alert", None, "dep-2: figures stale for 3 ticks"),
    ("a failed drift check alerts", ev(failures=(CheckFailure(kind="drift", failed_at=NOW,
     message="boom"),)), None, None, "alert", None, "the drift check failed: boom"),
    ("a failed check joins a retrain's reasons",
     ev(drift=drift("a"), failures=(CheckFailure(kind="quality", failed_at=NOW,
        message="no labels table"),)), policy(drift_features=1), None, "retrain",
     Trigger.DRIFT, "the quality check failed: no labels table"),
    ("a shadow failing a promotion gate alerts",
     ev(shadows=(SLOW_SHADOW, ShadowEvidence(deployment_id="dep-4", version="4"))), None, None,
     "alert", None, "shadow dep-3 (v3) would not be promoted: shadow p95 90.0 ms is above"),
    ("a shadow passing its gates is nothing",
     ev(drift=drift(), shadows=(ShadowEvidence(deployment_id="dep-4", version="4"),)), None,
     None, "nothing", None, "no drift in 4 features"),
    ("an active run with a problem still alerts",
     ev(drift=drift("a"), active_run="rt-1", stale=("dep-2: stale",)),
     policy(drift_features=1), None, "alert", Trigger.DRIFT, "dep-2: stale"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("evidence", "pol", "last", "action", "trigger", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_the_decision_follows_the_rules(
    evidence: Evidence,
    pol: RetrainingPolicy | None,
    last: datetime | None,
    action: str,
    trigger: Trigger | None,
    reason: str,
) -> None:
    decision = decide(evidence, pol, last, NOW)
    assert decision.action is WatchAction(action)
    assert decision.trigger is trigger
    assert any(reason in r for r in decision.reasons), decision.reasons


def test_a_rollback_names_the_breaching_deployment_and_is_critical() -> None:
    decision = decide(ev(slo=(OK.model_copy(update={"deployment_id": "dep-1"}), BREACH)), None,
                      None, NOW)  # fmt: skip
    assert (decision.deployment_id, decision.severity) == ("dep-2", Severity.CRITICAL)


def test_expensive_training_is_a_warning_and_cheap_is_info() -> None:
    cheap = decide(ev(quality=quality(0.8)), policy(quality_drop=0.05), None, NOW)
    dear = decide(ev(quality=quality(0.8)), policy(quality_drop=0.05, expensive=True), None, NOW)
    assert (cheap.severity, dear.severity) == (Severity.INFO, Severity.WARNING)


def test_stale_figures_and_breaches_alert_critically_drift_alone_warns() -> None:
    assert decide(ev(stale=("x",)), None, None, NOW).severity is Severity.CRITICAL
    assert decide(ev(drift=drift("a")), None, None, NOW).severity is Severity.WARNING


def test_the_signature_ignores_figures_but_not_what_it_is_about() -> None:
    one = decide(ev(drift=drift("a")), None, None, NOW)
    moved = decide(ev(drift=drift("a").model_copy(update={"figures": {}})), None, None, NOW)
    more = decide(ev(drift=drift("a", "b")), None, None, NOW)
    quiet = decide(ev(), None, None, NOW)
    assert one.signature == moved.signature
    assert one.signature != more.signature != quiet.signature


def test_the_quiet_signature_is_the_same_every_tick() -> None:
    first = decide(ev(drift=drift()), None, None, NOW)
    later = decide(ev(drift=drift(features=5)), None, None, NOW + HOUR)
    assert first.signature == later.signature == "nothing||"


@pytest.mark.parametrize(
    ("schedule", "since", "now", "due"),
    [
        ("0 3 * * *", NOW - 10 * HOUR, NOW, True),
        ("0 3 * * *", NOW - 9 * HOUR, NOW, False),  # 03:00 exactly: fired at, not after
        ("0 3 * * *", NOW - 8 * HOUR, NOW, False),
        ("*/15 * * * *", NOW - timedelta(minutes=14), NOW, True),
        ("0 0 1 1 *", NOW - 400 * 24 * HOUR, NOW, True),
        ("0 0 1 1 *", NOW - 24 * HOUR, NOW, False),
        ("* * * * *", None, NOW, False),
    ],
)
def test_a_schedule_is_due_when_it_fired_after_the_last_run(
    schedule: str, since: datetime | None, now: datetime, due: bool
) -> None:
    assert schedule_due(schedule, since, now) is due


def test_the_next_fire_keeps_utc() -> None:
    assert next_fire("30 4 * * *", NOW) == datetime(2026, 12, 1, 4, 30, tzinfo=UTC)


def test_a_bad_cron_expression_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="not a cron expression"):
        schedule_due("every tuesday", NOW - HOUR, NOW)


BREACHED = "dep-2 (v2) breaches its SLO: error rate 0.3 above 0.05; "

# What each case says, word for word (its severity, signature, rollback deployment, reasons).
EXACT: dict[str, tuple[str, str, str | None, str, tuple[str, ...]]] = {
    "all quiet": (
        "INFO",
        "nothing||",
        None,
        ("within objectives on 1 deployment; no drift in 4 features",),
    ),
    "no drift check yet": (
        "INFO",
        "nothing||",
        None,
        ("within objectives on 1 deployment; no drift check yet",),
    ),
    "drift inconclusive": (
        "INFO",
        "nothing||",
        None,
        ("within objectives on 1 deployment; drift inconclusive (too few rows)",),
    ),
    "quality fine is said": (
        "INFO",
        "nothing||",
        None,
        (
            "within objectives on 1 deployment; no drift check yet;"
            " accuracy 0.9600 (approved 0.9500)",
        ),
    ),
    "drift on enough features retrains": (
        "INFO",
        "retrain|drift|drift:a,b;drift",
        None,
        ("drift on 2 features (a, b), at least 2",),
    ),
    "drift on more features retrains": (
        "INFO",
        "retrain|drift|drift:a,b,c;drift",
        None,
        ("drift on 3 features (a, b, c), at least 2",),
    ),
    "drift below the threshold alerts": (
        "WARNING",
        "alert||drift:a",
        None,
        ("drift on 1 feature (a), below the policy's 2",),
    ),
    "drift with a policy that ignores drift alerts": (
        "WARNING",
        "alert||drift:a",
        None,
        ("drift on 1 feature (a); the policy does not retrain on drift",),
    ),
    "drift without a policy alerts": (
        "WARNING",
        "alert||drift:a,b",
        None,
        ("drift on 2 features (a, b); no retraining policy",),
    ),
    "quality drop beyond the margin retrains": (
        "INFO",
        "retrain|quality|quality:accuracy;quality",
        None,
        ("accuracy 0.8500 vs approved 0.9500 (drop 0.1000), more than 0.05",),
    ),
    "quality drop within the margin alerts": (
        "WARNING",
        "alert||quality:accuracy",
        None,
        ("accuracy 0.9300 vs approved 0.9500 (drop 0.0200), within the policy's 0.05",),
    ),
    "quality drop without a policy alerts": (
        "WARNING",
        "alert||quality:accuracy",
        None,
        ("accuracy 0.8500 vs approved 0.9500 (drop 0.1000); no retraining policy",),
    ),
    "a regressor's error going up is a drop": (
        "INFO",
        "retrain|quality|quality:mae;quality",
        None,
        ("mae 3.0000 vs approved 2.0000 (drop 1.0000), more than 0.5",),
    ),
    "a regressor's error going down is none": (
        "INFO",
        "nothing||",
        None,
        ("within objectives on 1 deployment; no drift check yet; mae 1.0000 (approved 2.0000)",),
    ),
    "several triggers: one retrain naming drift, all reasons": (
        "INFO",
        "retrain|drift|drift:a,b;quality:accuracy;drift;quality",
        None,
        (
            "drift on 2 features (a, b), at least 1",
            "accuracy 0.8000 vs approved 0.9500 (drop 0.1500), more than 0.05",
        ),
    ),
    "an active run holds a retrain back": (
        "INFO",
        "nothing|drift|drift:a,b;drift;active_run",
        None,
        ("drift on 2 features (a, b), at least 1", "already being retrained (run rt-7)"),
    ),
    "inside the cool-down drift alerts": (
        "WARNING",
        "alert|drift|drift:a,b;drift;cooldown",
        None,
        ("drift on 2 features (a, b), at least 1", "cool-down until 16:00"),
    ),
    "after the cool-down drift retrains": (
        "INFO",
        "retrain|drift|drift:a,b;drift",
        None,
        ("drift on 2 features (a, b), at least 1",),
    ),
    "the cool-down ends exactly now": (
        "INFO",
        "retrain|drift|drift:a;drift",
        None,
        ("drift on 1 feature (a), at least 1",),
    ),
    "expensive training retrains with an approval": (
        "WARNING",
        "retrain|quality|quality:accuracy;quality",
        None,
        (
            "accuracy 0.8000 vs approved 0.9500 (drop 0.1500), more than 0.05",
            "training is expensive: a person approves first",
        ),
    ),
    "the schedule came due since the last run": (
        "INFO",
        "retrain|schedule|schedule",
        None,
        ("schedule 0 3 * * * came due",),
    ),
    "the schedule not due since the last run": (
        "INFO",
        "nothing||",
        None,
        ("within objectives on 1 deployment; no drift check yet",),
    ),
    "a run long ago: the schedule is due": (
        "INFO",
        "retrain|schedule|schedule",
        None,
        ("schedule 0 3 * * 1 came due",),
    ),
    "never run: due once it fired since the policy was set": (
        "INFO",
        "retrain|schedule|schedule",
        None,
        ("schedule 0 3 * * * came due",),
    ),
    "never run: not due before it fires after the policy was set": (
        "INFO",
        "nothing||",
        None,
        ("within objectives on 1 deployment; no drift check yet",),
    ),
    "never run and no policy time: never due": (
        "INFO",
        "nothing||",
        None,
        ("within objectives on 1 deployment; no drift check yet",),
    ),
    "nothing judged yet is said": (
        "INFO",
        "nothing||",
        None,
        ("no SLO judged yet; no drift check yet",),
    ),
    "a schedule inside the cool-down does nothing": (
        "INFO",
        "nothing|schedule|schedule;cooldown",
        None,
        ("schedule 0 * * * * came due", "cool-down until 16:00"),
    ),
    "a sustained breach with a warm target asks for a rollback": (
        "CRITICAL",
        "rollback||rollback:dep-2",
        "dep-2",
        (
            BREACHED + "breached 3 of 3 checks in a row",
            "roll back to the warm dep-1",
        ),
    ),
    "a rollback wins over a retrain and keeps its reasons": (
        "CRITICAL",
        "rollback||rollback:dep-2",
        "dep-2",
        (
            BREACHED + "breached 3 of 3 checks in a row",
            "roll back to the warm dep-1",
            "drift on 2 features (a, b), at least 1",
        ),
    ),
    "a breach without a warm target alerts": (
        "CRITICAL",
        "alert||slo:dep-2",
        None,
        (BREACHED + "no warm deployment to roll back to",),
    ),
    "a fresh breach alerts until it is sustained": (
        "CRITICAL",
        "alert||slo:dep-2",
        None,
        (BREACHED + "breached 1 of 3 checks in a row",),
    ),
    "a breach a rollout owns is the deployer's": (
        "CRITICAL",
        "alert||slo:dep-2",
        None,
        (BREACHED + "the deployer is rolling it back",),
    ),
    "a breach the guard acts on is the deployer's": (
        "CRITICAL",
        "alert||slo:dep-2",
        None,
        (BREACHED + "the deployer is rolling it back",),
    ),
    "stale figures alert": (
        "CRITICAL",
        "alert||stale",
        None,
        ("dep-2: figures stale for 3 ticks",),
    ),
    "a shadow failing a promotion gate alerts": (
        "WARNING",
        "alert||shadow:dep-3",
        None,
        ("shadow dep-3 (v3) would not be promoted: shadow p95 90.0 ms is above 24.0 ms",),
    ),
    "a shadow passing its gates is nothing": (
        "INFO",
        "nothing||",
        None,
        ("within objectives on 1 deployment; no drift in 4 features",),
    ),
    "a failed drift check alerts": (
        "WARNING",
        "alert||check_failed:drift",
        None,
        ("the drift check failed: boom",),
    ),
    "a failed check joins a retrain's reasons": (
        "WARNING",
        "retrain|drift|check_failed:quality;drift:a;drift",
        None,
        ("drift on 1 feature (a), at least 1", "the quality check failed: no labels table"),
    ),
    "an active run with a problem still alerts": (
        "CRITICAL",
        "alert|drift|stale;drift:a;drift;active_run",
        None,
        (
            "drift on 1 feature (a), at least 1",
            "already being retrained (run rt-1)",
            "dep-2: stale",
        ),
    ),
    "a passing deployment beside a breaching one": (
        "CRITICAL",
        "alert||slo:dep-2",
        None,
        (BREACHED + "no warm deployment to roll back to",),
    ),
    "a breach lists every objective it misses": (
        "CRITICAL",
        "alert||slo:dep-2",
        None,
        (
            "dep-2 (v2) breaches its SLO: p95 80 ms above 50; errors 0.2 above 0.05;"
            " no warm deployment to roll back to",
        ),
    ),
    "a breach without its figures still says so": (
        "CRITICAL",
        "alert||slo:dep-2",
        None,
        ("dep-2 (v2) breaches its SLO: SLO breached; no warm deployment to roll back to",),
    ),
    "a drop exactly at the margin is within it": (
        "WARNING",
        "alert||quality:accuracy",
        None,
        ("accuracy 0.5000 vs approved 1.0000 (drop 0.5000), within the policy's 0.5",),
    ),
    "an active run with a failed check warns": (
        "WARNING",
        "alert|drift|check_failed:drift;drift:a;drift;active_run",
        None,
        (
            "drift on 1 feature (a), at least 1",
            "already being retrained (run rt-1)",
            "the drift check failed: boom",
        ),
    ),
}


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_each_decision_says_exactly_why(case: tuple[Any, ...]) -> None:
    name, evidence, pol, last = case[:4]
    decision = decide(evidence, pol, last, NOW)
    said = (decision.severity.name, decision.signature, decision.deployment_id, decision.reasons)
    assert said == EXACT[name]


def test_the_sustained_count_is_the_callers() -> None:
    breach = ev(slo=(BREACH.model_copy(update={"failed_checks": 2}),))
    assert decide(breach, None, None, NOW, sustained_checks=2).action is WatchAction.ROLLBACK
    assert decide(breach, None, None, NOW).action is WatchAction.ALERT
