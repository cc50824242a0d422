"""The monitor agent's decision: a model's production evidence -> nothing, alert, rollback or
retrain, with every reason. Pure: the evidence is read elsewhere (``database.monitor``).

Rules, in order (one decision per model; its reasons list everything that was found):

1. **rollback** (ask the deployer) when a serving deployment breaches its SLO and the
   deployer's own rules did not act: no rollout owns it (a rollout's gates roll it back), its
   guard did not roll back (``guard`` is ``propose``: outside the guard window), the breach
   has lasted ``sustained_checks`` judgements in a row (one bad window is not a trend), and a
   warm earlier deployment of the model still runs (the rollback is a route switch, undone as
   fast). Why so narrow: inside its guard window the deployer already rolls back on its own;
   outside it, the deployer proposes the command to a person because the replaced version may
   be stale; the monitor only escalates a sustained breach to a request where the rollback is
   instant and reversible. With no warm target it alerts: starting an old version cold is a
   person's call.
2. **retrain** (ask the retraining agent) when a trigger fires: drift on at least
   ``policy.drift_features`` features, the quality metric worse than approved by more than
   ``policy.quality_drop``, or the policy's cron ``schedule`` came due since the last run
   (UTC; never run: since the policy was set). Only when the model has a policy, no run is
   active (one at a time: else ``nothing``, "already being retrained (run X)") and the
   cool-down since the last run began has passed (else ``alert`` for drift or quality,
   ``nothing`` for a schedule, "cool-down until HH:MM"). Several triggers: one retrain, the
   first of drift, quality, schedule names it, the reasons list all.
3. **alert** for drift or a quality drop with no policy or below its thresholds, a breach that
   is not a rollback (rule 1), stale figures, a drift or quality check that failed, and a
   running shadow that fails the promotion's latency or error gate (``shadow_watch``).
4. **nothing** otherwise, with the reasons ("within objectives on 1 deployment; no drift in 4
   features; accuracy 0.95 (approved 0.96)").

``WatchDecision.signature`` names what a decision is about without its figures: the monitor
records a decision only when it differs from the model's last one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from croniter import croniter  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from lifecycle.alerts import Severity
from lifecycle.errors import BadInputError
from lifecycle.quality import LOWER_IS_BETTER
from lifecycle.retraining import RetrainingPolicy, Trigger
from lifecycle.shadow_watch import ShadowEvidence, shadow_problems

SUSTAINED_CHECKS = 3
"""Failed SLO judgements in a row before the monitor asks for a rollback."""


class WatchAction(StrEnum):
    """What the monitor agent decides about one model."""

    NOTHING = "nothing"
    ALERT = "alert"
    ROLLBACK = "rollback"
    RETRAIN = "retrain"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, protected_namespaces=())


class SloEvidence(_Record):
    """One routed deployment's service levels as the tick left them."""

    deployment_id: str
    version: str
    status: str
    """The last verdict (``passed``, ``failed``, ``inconclusive``)."""
    failed_checks: int = 0
    """Failed judgements in a row, newest first."""
    guard: str = "none"
    """What the deployer's guard did: ``act``, ``propose``, ``alert``, ``none``."""
    in_rollout: bool = False
    """An open rollout owns it (its gates decide, not the monitor)."""
    warm_target: str | None = None
    """A warm earlier deployment of the model a rollback would switch to."""
    breaches: tuple[str, ...] = ()


class DriftEvidence(_Record):
    """The model's latest drift check."""

    version: str
    checked_at: datetime
    verdict: str
    drifted: tuple[str, ...] = ()
    features: int = 0
    """How many columns it judged."""
    figures: dict[str, JsonValue] = Field(default_factory=dict)
    """Each drifted column's p-value and PSI."""


class QualityEvidence(_Record):
    """The model's latest conclusive quality check."""

    version: str
    checked_at: datetime
    verdict: str
    metric: str
    observed: float
    approved: float
    labelled: int = 0

    @property
    def drop(self) -> float:
        """How much worse than approved (negative: better)."""
        if self.metric in LOWER_IS_BETTER:
            return self.observed - self.approved
        return self.approved - self.observed


class CheckFailure(_Record):
    """A drift or quality check that raised instead of judging."""

    kind: str
    failed_at: datetime
    message: str


class Evidence(_Record):
    """Everything the monitor knows about one model this tick."""

    model_name: str
    slo: tuple[SloEvidence, ...] = ()
    drift: DriftEvidence | None = None
    quality: QualityEvidence | None = None
    stale: tuple[str, ...] = ()
    """Why a deployment's figures went stale, one line each."""
    failures: tuple[CheckFailure, ...] = ()
    active_run: str | None = None
    """The model's active retraining run, if any."""
    policy_set_at: datetime | None = None
    production_version: str | None = None
    shadows: tuple[ShadowEvidence, ...] = ()
    """Live shadow deployments and the promotion gates their last judgement failed."""


class WatchDecision(_Record):
    """What to do about a model, and why."""

    action: WatchAction
    reasons: tuple[str, ...]
    trigger: Trigger | None = None
    severity: Severity = Severity.INFO
    deployment_id: str | None = None
    """A rollback's deployment (the one breaching)."""
    topics: tuple[str, ...] = ()
    """What it is about, without figures (``drift:a,b``, ``slo:dep-1``)."""

    @property
    def signature(self) -> str:
        """Equal for two decisions that say the same thing (figures aside)."""
        about = ";".join(self.topics)
        return f"{self.action.value}|{self.trigger.value if self.trigger else ''}|{about}"


def schedule_due(schedule: str, since: datetime | None, now: datetime) -> bool:
    """Whether the cron ``schedule`` (UTC) fired after ``since`` and by ``now``; never when
    ``since`` is None (no run and no policy time to count from)."""
    if since is None:
        return False
    return next_fire(schedule, since) <= now


def next_fire(schedule: str, since: datetime) -> datetime:
    """The first time the cron ``schedule`` fires after ``since`` (UTC)."""
    try:
        found: datetime = croniter(schedule, since.replace(tzinfo=None)).get_next(datetime)
    except (ValueError, KeyError) as exc:
        raise BadInputError(f"not a cron expression: {schedule!r}") from exc
    return found.replace(tzinfo=since.tzinfo)


def _hhmm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _triggers(
    ev: Evidence, policy: RetrainingPolicy | None, since: datetime | None, now: datetime
) -> tuple[list[tuple[Trigger, str]], list[str]]:
    """The retraining triggers that fire, and what was found below them (alerts)."""
    fired: list[tuple[Trigger, str]] = []
    below: list[str] = []
    drift, quality = ev.drift, ev.quality
    if drift is not None and drift.verdict == "drift" and drift.drifted:
        found = f"drift on {_plural(len(drift.drifted), 'feature')} ({', '.join(drift.drifted)})"
        need = policy.drift_features if policy else None
        if need is not None and len(drift.drifted) >= need:
            fired.append((Trigger.DRIFT, f"{found}, at least {need}"))
        elif policy is None:
            below.append(f"{found}; no retraining policy")
        elif need is None:
            below.append(f"{found}; the policy does not retrain on drift")
        else:
            below.append(f"{found}, below the policy's {need}")
    if quality is not None and quality.verdict == "drop":
        found = (
            f"{quality.metric} {quality.observed:.4f} vs approved {quality.approved:.4f}"
            f" (drop {quality.drop:.4f})"
        )
        margin = policy.quality_drop if policy else None
        if margin is not None and quality.drop > margin:
            fired.append((Trigger.QUALITY, f"{found}, more than {margin:g}"))
        elif policy is None:
            below.append(f"{found}; no retraining policy")
        elif margin is None:
            below.append(f"{found}; the policy does not retrain on quality")
        else:
            below.append(f"{found}, within the policy's {margin:g}")
    if policy is not None and policy.schedule:
        start = since or ev.policy_set_at
        if schedule_due(policy.schedule, start, now):
            fired.append((Trigger.SCHEDULE, f"schedule {policy.schedule} came due"))
    return fired, below


def _rollback(ev: Evidence, sustained: int) -> SloEvidence | None:
    """The breaching deployment the monitor asks the deployer to roll back (rule 1)."""
    for slo in ev.slo:
        if (
            slo.status == "failed"
            and not slo.in_rollout
            and slo.guard == "propose"
            and slo.failed_checks >= sustained
            and slo.warm_target is not None
        ):
            return slo
    return None


def _problems(ev: Evidence, sustained: int) -> tuple[list[str], list[str]]:
    """Alert-worthy findings besides drift and quality: (reasons, topics)."""
    reasons, topics = [], []
    for slo in ev.slo:
        if slo.status != "failed":
            continue
        why = "; ".join(slo.breaches) or "SLO breached"
        if slo.in_rollout or slo.guard == "act":
            note = "the deployer is rolling it back"
        elif slo.warm_target is None:
            note = "no warm deployment to roll back to"
        else:
            note = f"breached {slo.failed_checks} of {sustained} checks in a row"
        reasons.append(f"{slo.deployment_id} (v{slo.version}) breaches its SLO: {why}; {note}")
        topics.append(f"slo:{slo.deployment_id}")
    for line in ev.stale:
        reasons.append(line)
        topics.append("stale")
    for failure in ev.failures:
        reasons.append(f"the {failure.kind} check failed: {failure.message}")
        topics.append(f"check_failed:{failure.kind}")
    shadow_reasons, shadow_topics = shadow_problems(ev.shadows)
    return reasons + shadow_reasons, topics + shadow_topics


def _findings(ev: Evidence) -> list[str]:
    """Drift and quality drops as topics: which features, which metric (no figures)."""
    found = []
    if ev.drift is not None and ev.drift.verdict == "drift" and ev.drift.drifted:
        found.append(f"drift:{','.join(sorted(ev.drift.drifted))}")
    if ev.quality is not None and ev.quality.verdict == "drop":
        found.append(f"quality:{ev.quality.metric}")
    return found


def _severity(topics: list[str], default: Severity) -> Severity:
    """Critical when a service level or the figures are at stake, else ``default``."""
    return Severity.CRITICAL if any(t.startswith(("slo:", "stale")) for t in topics) else default


def _fine(ev: Evidence) -> str:
    """Why nothing is wrong (reached only when no drift, drop or problem was found)."""
    judged = len(ev.slo)
    parts = [
        f"within objectives on {_plural(judged, 'deployment')}" if judged else "no SLO judged yet"
    ]
    if ev.drift is None:
        parts.append("no drift check yet")
    elif ev.drift.verdict == "inconclusive":
        parts.append("drift inconclusive (too few rows)")
    else:
        parts.append(f"no drift in {_plural(ev.drift.features, 'feature')}")
    if ev.quality is not None:
        q = ev.quality
        parts.append(f"{q.metric} {q.observed:.4f} (approved {q.approved:.4f})")
    return "; ".join(parts)


def decide(
    evidence: Evidence,
    policy: RetrainingPolicy | None,
    last_run_started_at: datetime | None,
    now: datetime,
    sustained_checks: int = SUSTAINED_CHECKS,
) -> WatchDecision:
    """The decision about one model (module docstring: the rules)."""
    fired, below = _triggers(evidence, policy, last_run_started_at, now)
    problems, topics = _problems(evidence, sustained_checks)
    retrain = [why for _t, why in fired]
    target = _rollback(evidence, sustained_checks)
    if target is not None:
        why = f"roll back to the warm {target.warm_target}"
        return WatchDecision(
            action=WatchAction.ROLLBACK,
            reasons=(*problems, why, *retrain, *below),
            severity=Severity.CRITICAL,
            deployment_id=target.deployment_id,
            topics=(f"rollback:{target.deployment_id}",),
        )
    about = (*topics, *_findings(evidence), *(f"{t.value}" for t, _w in fired))
    if fired and policy is not None:
        trigger = fired[0][0]
        automatic = [t for t, _w in fired if t is not Trigger.SCHEDULE]
        if evidence.active_run is not None:
            why = f"already being retrained (run {evidence.active_run})"
            action = WatchAction.ALERT if problems else WatchAction.NOTHING
            return WatchDecision(
                action=action,
                reasons=(*retrain, why, *problems, *below),
                trigger=trigger,
                severity=_severity(topics, Severity.WARNING if problems else Severity.INFO),
                topics=(*about, "active_run"),
            )
        if last_run_started_at is not None:
            until = last_run_started_at + timedelta(seconds=policy.cooldown_seconds)
            if now < until:
                why = f"cool-down until {_hhmm(until)}"
                action = WatchAction.ALERT if automatic or problems else WatchAction.NOTHING
                return WatchDecision(
                    action=action,
                    reasons=(*retrain, why, *problems, *below),
                    trigger=trigger,
                    severity=_severity(
                        topics, Severity.INFO if action is WatchAction.NOTHING else Severity.WARNING
                    ),
                    topics=(*about, "cooldown"),
                )
        approval = ["training is expensive: a person approves first"] if policy.expensive else []
        return WatchDecision(
            action=WatchAction.RETRAIN,
            reasons=(*retrain, *approval, *problems, *below),
            trigger=trigger,
            severity=_severity(
                topics, Severity.WARNING if policy.expensive or problems else Severity.INFO
            ),
            topics=about,
        )
    if problems or below:
        return WatchDecision(
            action=WatchAction.ALERT,
            reasons=(*problems, *below),
            severity=_severity(topics, Severity.WARNING),
            topics=about,
        )
    return WatchDecision(action=WatchAction.NOTHING, reasons=(_fine(evidence),))
