"""How ``deployer retraining`` and ``deployer retrain`` print, in local and remote mode alike
(imports no database, MLflow or graph library)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from agents.entrypoints.cli.output import console
from lifecycle.durations import shown


def render_policies(rows: list[dict[str, Any]]) -> None:
    table = Table("model", "project", "entry", "params", "triggers", "cooldown", "window")
    for p in rows:
        triggers = [
            f"drift>={p['drift_features']}" if p["drift_features"] else "",
            f"quality-{p['quality_drop']}" if p["quality_drop"] else "",
            f"cron {p['schedule']}" if p["schedule"] else "",
            "expensive" if p["expensive"] else "",
        ]
        params = " ".join(f"{k}={v}" for k, v in p["params"].items())
        table.add_row(
            *(Text(str(v)) for v in (p["model_name"], p["project"], p["entry_point"], params)),
            Text(" ".join(t for t in triggers if t) or "manual"),
            Text(shown(p["cooldown_seconds"])),
            Text(shown(p["data_window_seconds"])),
        )
    console.print(table)


def render_runs(rows: list[dict[str, Any]]) -> None:
    table = Table("run", "model", "trigger", "status", "window", "versions", "evaluation")
    for r in rows:
        since, until = r["data_since"], r["data_until"]
        window = f"{since:%m-%d %H:%M}..{until:%m-%d %H:%M}" if since and until else ""
        versions = f"v{r['parent_version'] or '?'} -> v{r['new_version'] or '?'}"
        table.add_row(
            *(Text(str(v)) for v in (r["id"], r["model_name"], r["trigger"], r["status"])),
            Text(window),
            Text(versions),
            Text(evaluation_text(r["evaluation"]) or r["error"][:80]),
        )
    console.print(table)


def evaluation_text(e: dict[str, Any]) -> str:
    metric = e.get("primary_metric")
    if not metric:
        return ""
    candidate, production = e["candidate"].get(metric), e["production"].get(metric)
    return f"{metric} {candidate:.3f} vs {production:.3f} on {e['rows']} rows"


def render_retrained(r: dict[str, Any]) -> None:
    label = f" ({r['label']})" if r.get("label") else ""
    line = f"retraining run {r['retraining_run_id']}: {r['status']}"
    if r.get("new_version"):
        line += f", new version v{r['new_version']}{label}"
    console.print(Text(line), highlight=False)
    text = evaluation_text(r.get("evaluation") or {})
    if text:
        console.print(Text(text), highlight=False)
    for e in r.get("errors") or []:
        console.print(Text(f"error: {e}"), highlight=False)
    for f in r.get("followed") or []:
        req = f["request"]
        step = req.get("target_stage") or f"{req.get('strategy')} at {req.get('traffic')}%"
        said = f"handoff {req['action']} {step}: {f['status']}"
        console.print(Text(said + (f" ({f['error']})" if f.get("error") else "")), highlight=False)
