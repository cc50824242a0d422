"""What each page shows, gathered from the queries into plain dicts for the templates, with
the charts drawn (``charts``). No request, no response: the routes call these in a worker
thread.

Every page is cut to the reader's ``Grants`` (issue 19): models, approvals and alerts of the
tenants they see; another tenant's model is answered exactly as a model that does not exist;
audit events of the models they see (all of them for a platform admin:
``lifecycle.tenant_views``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agents.alerting import AlertServices
from agents.entrypoints.web.charts import Segment, Series, line_chart, split_bar
from agents.handlers import operations
from agents.handlers.alerts import alerts_since
from agents.ports import Services
from agents.queries import dashboard
from agents.queries.audit import last_audit_check, verify_audit
from agents.queries.history import model_history
from agents.queries.status import home_status
from lifecycle.approval import Role
from lifecycle.errors import BadInputError, UnknownModelError
from lifecycle.gates import metric_thresholds_gate, parse_criterion
from lifecycle.records import utcnow
from lifecycle.tenant_views import sees_alert, sees_event
from lifecycle.tenants import Grants, tenant_of

RECENT_ALERTS = 10
AUDIT_EVENTS = 50
AUDIT_SCAN = 1000
"""Newest events read to find the ``AUDIT_EVENTS`` a tenant's reader may see."""
LATENCY = (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"))


def split_of(model: dict[str, Any]) -> str:
    """The model's users' traffic split as a bar: each routed deployment by version and role."""
    segments = []
    for version in model["versions"]:
        for d in version["deployments"]:
            if d["weight"] > 0:
                role = "stable" if d["stable"] else d["strategy"]
                segments.append(Segment(f"v{version['version']} {role}", d["weight"]))
    return split_bar(f"traffic split of {model['name']}", segments)


def deployments_of(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The model's deployments that are or were live, newest version first, with version."""
    rows = [
        {**d, "version": v["version"], "label": v["label"]}
        for v in model["versions"]
        for d in v["deployments"]
    ]
    return sorted(rows, key=lambda d: (d["health"] is None, d["deployment_id"]), reverse=False)


def overview(c: AlertServices, grants: Grants) -> dict[str, Any]:
    """Every model the reader sees with its versions by stage, the split, health; their
    approvals and alerts; the audit chain's last check."""
    status = home_status(c)
    alerts = alerts_since(c, utcnow() - timedelta(days=1))
    models = [
        {
            **m,
            "split": split_of(m),
            "live": [d for d in deployments_of(m) if d["health"] is not None],
        }
        for m in grants.visible(status["models"], lambda m: str(m["name"]))
    ]
    return {
        "models": models,
        "approvals": grants.visible(operations.list_approvals(c), _model),
        "alerts": [a for a in alerts if sees_alert(grants, a["model"])][:RECENT_ALERTS],
        "audit": status.get("audit"),
        "initialized": status["initialized"],
    }


def criteria_verdicts(version: dict[str, Any], criteria: list[str]) -> list[dict[str, str]]:
    """Each success criterion judged on the version's recorded metrics (as the gate does)."""
    parsed = []
    for text in criteria:
        try:
            parsed.append(parse_criterion(text))
        except BadInputError:
            continue
    metrics = {k: float(v) for k, v in (version.get("metrics") or {}).items()}
    return [
        {"gate": v.gate, "status": v.status.value, "message": v.message}
        for v in metric_thresholds_gate(metrics, parsed)
    ]


def rollout_charts(series: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest judged rollout's charts: latency percentiles and error rate, canary against
    the baseline it was compared with (stable solid, canary dashed)."""
    if not series:
        return None
    latest = series[-1]
    points = latest["points"]

    def line(side: str, key: str, label: str, scale: float = 1.0) -> Series:
        return Series(label, [(p["at"], p[side][key] * scale) for p in points])

    charts = [
        line_chart(
            f"{name} latency: canary {latest['deployment_id']} vs stable",
            "ms",
            [line("baseline", key, f"stable {name}"), line("candidate", key, f"canary {name}")],
        )
        for key, name in LATENCY
    ]
    charts.append(
        line_chart(
            f"error rate: canary {latest['deployment_id']} vs stable",
            "% of requests",
            [
                line("baseline", "error_rate", "stable errors", 100),
                line("candidate", "error_rate", "canary errors", 100),
            ],
        )
    )
    return {"deployment_id": latest["deployment_id"], "charts": charts, "points": points}


def shadow_charts(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per shadow: its agreement over time as a chart (None before the monitor judged it), the
    gateways' totals and its disagreement samples."""
    return [
        {
            **s,
            "chart": line_chart(
                f"shadow {s['deployment_id']}: agreement with production",
                "% agreed",
                [Series("agreement", [(p["at"], p["agreement"]) for p in s["points"]])],
            )
            if s["points"]
            else None,
        }
        for s in series
    ]


def _model(item: dict[str, Any]) -> str:
    return str(item["model_name"])


def unknown_model(name: str) -> UnknownModelError:
    """What a model the reader may not see is answered with: the unknown model's own error."""
    return UnknownModelError(f"no model named {name!r} is registered")


def model_page(c: Services, name: str, grants: Grants) -> dict[str, Any]:
    """One model: status, split, deployments, timeline, charts, shadow, drift, versions; an
    unknown model (404) when the reader does not see its tenant."""
    if not grants.sees(name):
        raise unknown_model(name)
    status = home_status(c, name)
    model = status["models"][0]
    history = model_history(c, name, limit=60)
    with c.reader() as uow:
        criteria = {
            row.version: list((row.success_criteria or {}).get("criteria") or [])
            for row in uow.models.list(name)
        }
    versions = [
        {
            **v,
            "criteria": criteria.get(v["version"], []),
            "verdicts": criteria_verdicts(v, criteria.get(v["version"], [])),
        }
        for v in model["versions"]
    ]
    return {
        "model": {**model, "versions": versions},
        "split": split_of(model),
        "deployments": deployments_of(model),
        "events": history["events"],
        "advice": history["advice"],
        "rollout": rollout_charts(dashboard.rollout_series(c, name)),
        "shadows": shadow_charts(dashboard.shadow_series(c, name)),
        "drift": dashboard.latest_drift(c, name),
        "approvals": [a for a in operations.list_approvals(c) if a["model_name"] == name],
        "may_rollback": grants.may(Role.DEPLOYER, tenant_of(name)),
    }


def approvals_page(c: Services, grants: Grants) -> dict[str, Any]:
    """What waits for a decision in the reader's tenants (with the gates on its figures, and
    whether they may approve it, or withdraw it as its requester), and the latest decided."""
    every = grants.visible(operations.list_approvals(c, every=True), _model)
    waiting = [a for a in every if a["state"] == "pending"]
    for a in waiting:
        tenant = tenant_of(a["model_name"])
        a["may_approve"] = grants.may(Role.APPROVER, tenant)
        own = a["requested_by"] == grants.user and grants.may(Role.DEPLOYER, tenant)
        a["may_reject"] = a["may_approve"] or own
    with c.reader() as uow:
        criteria = {
            (row.model_name, row.version): list((row.success_criteria or {}).get("criteria") or [])
            for a in waiting
            if (row := uow.models.find(a["model_name"], a["version"])) is not None
        }
    for a in waiting:
        metrics = {m["metric"]: m["value"] for m in a["metrics"]}
        key = (a["model_name"], a["version"])
        a["verdicts"] = criteria_verdicts({"metrics": metrics}, criteria.get(key, []))
    decided = [a for a in every if a["state"] != "pending"]
    return {"waiting": waiting, "decided": decided[-20:][::-1]}


def audit_page(c: Services, grants: Grants) -> dict[str, Any]:
    """The chain's verification now, the watcher's last one, and the newest events the reader
    may read (of the models they see; every one for a platform admin)."""
    events = dashboard.recent_audit(c, AUDIT_SCAN)
    if not grants.is_platform_admin:
        with c.reader() as uow:
            known = set(uow.models.list_model_names())
        events = [e for e in events if sees_event(grants, e["subject"], e["payload"], known)]
    return {
        "verified": verify_audit(c),
        "last_check": last_audit_check(c),
        "events": events[:AUDIT_EVENTS],
    }
