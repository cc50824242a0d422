"""The demo's second act (issue 15): the loop closes by itself.

After the rollback, v1 serves users. Production traffic drifts (a sensor's offset moves every
request's sepal width by +1 cm), the gateway captures it, labels come back as feedback, the
drift check sees it, the monitor agent decides to retrain and says why (an alert to the local
webhook), the retraining agent runs the model's MLflow Project on the captured, labelled window,
registers the new version with its lineage and evaluates it against production on the same
held-out rows, and hands it to the deployer for staging and a shadow. After its time in shadow
a second person approves it, and it is released as a canary that completes while users keep
being served. Every step goes through the agents' own code, as ``deployer watch`` runs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

from agents.commands import Deploy
from agents.handlers import alerts
from agents.handlers.capture import set_capture_percent
from agents.handlers.drift_checks import record_drift_checks
from agents.handlers.feedback import record_feedback
from agents.handlers.retraining import run_requested
from agents.handlers.retraining_policy import PolicyRequest, set_policy
from lifecycle.stages import LIVE_STATUSES
from lifecycle.strategies import StrategyName
from mlops.processes import poll

if TYPE_CHECKING:
    from agents.bootstrap import Container
    from agents.entrypoints.demo_alerts import Says as Timeline

SHIFT = {1: 1.0}
"""Column -> offset of the drifted traffic: sepal width reads 1 cm more than it did."""
ROWS = 320
PROJECT = Path(__file__).resolve().parents[3] / "examples" / "retraining" / "iris"
"""The model's MLflow Project (shipped in the repository beside this package)."""


@dataclass(frozen=True)
class Act:
    """What the second act borrows from the first (``demo.py``): the gateway's URL, the
    webhook, how to run a command, approve through bob, send traffic and wait in shadow."""

    url: str
    webhook: str
    model: str
    execute: Callable[[Any], dict[str, Any]]
    deliver: Callable[[], dict[str, Any]]
    traffic: Callable[[str, list[list[float]], int], list[str]]
    agreement: Callable[[str], dict[str, Any]]
    wait_out_shadow: Callable[[float], None]
    promote_with_approval: Callable[[str], None]
    while_sending: Callable[[list[list[float]], list[int], Callable[[], Any]], Any]


def close_the_loop(c: Container, t: Timeline, act: Act) -> dict[str, Any]:
    """Drift -> monitor -> retraining -> shadow -> approval -> canary; what it measured."""
    me, model = c.settings.user, act.model
    if not (PROJECT / "MLproject").is_file():
        raise RuntimeError(f"the demo's MLflow Project is missing: {PROJECT}")
    set_policy(c, me, model, PolicyRequest(project=str(PROJECT), on_drift=1, window="1h"))
    channel = alerts.add_channel(c, me, act.webhook, "drift,monitor,retraining", "info")
    t.say(
        f"retraining policy of {model}: its MLflow Project ({PROJECT.name}) whenever a feature "
        f"drifts; drift, monitor and retraining alerts go to the webhook too "
        f"(channel {channel['id']})",
        f"as: deployer retraining set {model} --project examples/retraining/iris --on-drift 1",
    )
    rows, labelled = _drifted_traffic(c, t, act)
    record_feedback(
        c, model, [(f"row {i}", r["request_id"], r["label"]) for i, r in enumerate(labelled)], me
    )
    t.say(f"{len(labelled)} labels came back for those requests (deployer feedback import)")
    drift = record_drift_checks(c, "watcher", model)
    t.say(f"drift check: {_drift_line(drift)}")
    decided = _monitor(c, model)
    t.say(f"monitor agent: {decided['line']}", "; ".join(decided["reasons"]))
    alert = act.deliver()
    run = _retrain(c, t)
    version = str(run["new_version"])
    shadow_since = time.monotonic()
    shadow = _live(c, model, version)
    act.traffic(act.url, rows, 300)
    agreement = act.agreement(shadow)
    t.say(
        f"shadow: v{version} agreed with production on {agreement['agreed']} of "
        f"{agreement['compared']} mirrored requests ({agreement['agreement']:.1%})"
    )
    act.wait_out_shadow(shadow_since)
    act.promote_with_approval(version)
    codes: list[int] = []
    canary = act.while_sending(rows, codes, lambda: _canary(c, t, act, version))
    failures = sum(1 for code in codes if code != 200)
    t.say(
        f"[green]released[/] v{version}: the canary completed; {len(codes)} requests sent "
        f"meanwhile, {failures} failed"
    )
    return {
        "retraining": {"run": run.get("retraining_run_id"), "version": version},
        "evaluation": run.get("evaluation") or {},
        "decision": decided,
        "alert": alert,
        "shadow_agreement": agreement["agreement"],
        "canary": canary,
        "canary_requests": len(codes),
        "canary_failures": failures,
    }


def _retrain(c: Container, t: Timeline) -> dict[str, Any]:
    """The retraining worker (``deployer watch`` runs it in the background) takes the run."""
    runs = run_requested(c)
    if not runs:
        raise RuntimeError("the monitor agent asked for no retraining")
    run = runs[0]
    t.say(
        f"retraining agent: trained v{run.get('new_version')} (label {run.get('label')}) on "
        f"the captured, labelled window; {_evaluation_line(run.get('evaluation') or {})}",
        "handed to the deployer: "
        + ", ".join(_step(f) for f in run.get("followed", []))
        + "; never production without the gates and an approval",
    )
    if run.get("status") != "handed_over":
        raise RuntimeError(f"the retrained version was not handed over: {run.get('errors')}")
    return run


def _step(followed: dict[str, Any]) -> str:
    request = followed.get("request") or {}
    what = request.get("target_stage") or request.get("strategy") or request.get("action")
    return f"{request.get('action')} {what}: {followed.get('status')}"


def _live(c: Container, model: str, version: str) -> str:
    with c.reader() as uow:
        live = uow.deployments.list(model, statuses=LIVE_STATUSES)
    for row in live:
        if row.model_version == version:
            return row.deployment_id
    raise RuntimeError(f"v{version} has no shadow deployment")


def _drifted_traffic(
    c: Container, t: Timeline, act: Act
) -> tuple[list[list[float]], list[dict[str, Any]]]:
    """Capture on; ROWS shifted requests with our own request ids; the rows, and the true
    label of each answered request."""
    url, model = act.url, act.model
    from mlops.training import load_dataset

    set_capture_percent(c, model, 100, c.settings.user)
    frame, target, _ = load_dataset("iris")
    values = np.asarray(frame.values, dtype=float)
    picks = np.random.default_rng(15).integers(0, len(values), ROWS)
    drawn = values[picks]
    for column, by in SHIFT.items():
        drawn[:, column] += by
    rows = drawn.round(3).tolist()
    labels = np.asarray(target)[picks]
    applied = poll(lambda: _percent(url, model) == 100.0 or None, timeout=10, interval=0.2)
    if applied is None:
        raise RuntimeError("the gateway did not start capturing within 10 s")
    sent = []
    with httpx.Client(base_url=url, timeout=10.0, trust_env=False) as client:
        for i, (row, label) in enumerate(zip(rows, labels.tolist(), strict=True)):
            request_id = f"drift-{i:03d}"  # the client's own ids: the same split every run
            answer = client.post(
                f"/v1/models/{model}/predict",
                json={"instances": [row]},
                headers={"X-Request-Id": request_id},
            )
            if answer.is_success:
                sent.append({"request_id": request_id, "label": int(label)})
    t.say(
        f"production traffic drifts: {len(sent)} requests whose sepal width reads 1 cm more; "
        "the gateway captures every one (deployer capture enable --percent 100)"
    )
    if poll(lambda: _captured(c, model) >= len(sent) or None, timeout=15, interval=0.3) is None:
        raise RuntimeError("the gateway did not write the captured requests within 15 s")
    return rows, sent


def _percent(url: str, model: str) -> float:
    health = httpx.get(f"{url}/healthz", timeout=5, trust_env=False).json()
    return float(health["capture"]["percents"].get(model, 0.0))


def _captured(c: Container, model: str) -> int:
    from sqlalchemy import func, select

    from database.models_watch import PredictionRow

    with c.reader() as uow:
        query = select(func.count()).where(PredictionRow.model_name == model)
        return int(uow.session.scalar(query) or 0)


def _drift_line(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return "no check ran"
    check = checks[0]
    return str(check.get("summary") or check)


def _monitor(c: Container, model: str) -> dict[str, Any]:
    """The monitor agent's watch through the supervisor, as ``deployer watch`` runs it."""
    with c.open_system() as system:
        out = system.watch(c.settings.user, model)
    decisions = out.get("decisions") or []
    if not decisions:
        raise RuntimeError(f"the monitor agent decided nothing: {out.get('errors')}")
    first = decisions[0]["decision"]
    reasons = [str(r) for r in first.get("reasons", [])]
    line = f"{first.get('action')} ({first.get('trigger') or 'no trigger'})"
    return {"line": line, "reasons": reasons}


def _evaluation_line(evaluation: dict[str, Any]) -> str:
    candidate = evaluation.get("candidate") or {}
    production = evaluation.get("production") or {}
    metric = "accuracy" if "accuracy" in candidate else next(iter(candidate), "")
    if not metric:
        return "no evaluation"
    return (
        f"on the same {evaluation.get('rows')} held-out rows: {metric} "
        f"{candidate.get(metric, float('nan')):.3f} vs production v{production.get('version')} "
        f"{production.get(metric, float('nan')):.3f}"
    )


def _canary(c: Container, t: Timeline, act: Act, version: str) -> dict[str, Any]:
    """Release ``version`` as a 10% canary; a monitoring tick a second until it completes."""
    canary = act.execute(
        Deploy(model_name=act.model, version=version, strategy=StrategyName.CANARY, traffic=10)
    )
    deployment_id = canary["deployment_manifest"]["deployment_id"]
    t.say(f"canary {deployment_id} takes 10% of users; the monitor ticks every second")
    with c.open_system() as system:

        def completed() -> dict[str, Any] | None:
            for check in (system.tick("monitor")["monitor"] or {}).get("checks", []):
                if check["deployment_id"] == deployment_id and check["status"] == "passed":
                    t.say(f"monitor: canary {check['action']} ({check['status']})")
            with c.reader() as uow:
                row = uow.deployments.get(deployment_id)
                done = row.traffic_percentage >= 100.0 and row.changing_run_id is None
                return {"deployment_id": deployment_id, "status": row.status} if done else None

        # memory slows this canary (the first act's rollback): more, longer steps
        found = poll(completed, timeout=300, interval=1.0, paced=True)
    if found is None:
        raise RuntimeError("the canary did not complete within 300 s")
    return found
