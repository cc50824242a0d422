"""How the CLI shows results to people: runs, approvals, status, history and checks.

The queries (``agents.queries``) return JSON-ready dicts; ``--json`` prints those as they are.
Everything a user typed (reasons, comments, names, ids, errors quoting them) is shown literally:
escaped with ``rich.markup.escape`` inside markup, or as ``Text`` cells, never read as markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from agents.entrypoints.cli.output import console
from agents.queries.checks import MOVES
from lifecycle.version_labels import describe_version

DASH = "\N{EM DASH}"


def cells(*values: object) -> list[Text]:
    """Table cells shown as they are (a ``str`` cell would be read as markup)."""
    return [v if isinstance(v, Text) else Text(str(v)) for v in values]


def _e(value: object) -> str:
    """``value`` as text, escaped for use inside markup."""
    return escape(str(value))


def render_run(r: dict[str, Any]) -> None:
    """A run's outcome: its verdicts, then what happened (or what it waits for)."""
    for v in r.get("verdicts") or []:
        mark = {"passed": "[green]pass[/]", "failed": "[red]FAIL[/]"}.get(
            v["status"], "[yellow]wait[/]"
        )
        console.print(f"  {mark} {_e(v['gate'])}: {_e(v['message'])}", highlight=False)
    status = r.get("status")
    if status == "awaiting_approval":
        w = r["waiting_for"]
        console.print(
            f"[yellow]awaiting approval[/] {_e(w['approval_id'])}: {_e(w['model_name'])} "
            f"v{_e(w['version'])} -> {_e(w['target_stage'])}, requested by "
            f"{_e(w['requested_by'])}\n"
            f"  another person holding approver runs: deployer approve {_e(w['approval_id'])}"
        )
    elif r.get("version_record") and status in ("promoted", "rejected"):
        rec = r["version_record"]
        console.print(
            f"[green]{status}[/] {_e(rec['model_name'])} v{_e(rec['version'])}: "
            f"{_e(rec['from_stage'])} -> {_e(rec['to_stage'])} by {_e(rec['changed_by'])}"
        )
    elif status == "rejected":
        console.print(f"[red]rejected[/]: {_e('; '.join(r.get('errors') or []))}")
    elif r.get("deployment_manifest"):
        m = r["deployment_manifest"]
        console.print(
            f"[green]{_e(status)}[/] {_e(m['model_name'])} v{_e(m['model_version'])} as "
            f"{_e(m['deployment_id'])} ({_e(m['strategy'])}, {m['traffic_percentage']:g}%) at "
            f"{_e(m['endpoint_url'])} "
            f"in {m['deployment_duration_seconds'] or 0:.1f} s"
        )
        advice = r.get("advice") or {}
        if advice.get("reason"):
            console.print(f"  memory: {_e(advice['reason'])}", highlight=False)
    elif status == "rolled_back":
        console.print(
            f"[green]rolled back[/]: {_e(', '.join(r['rollback']['undo']))} -> "
            f"{_e(r['active_deployment_id'])} now serves 100%"
        )
    else:
        console.print(Text(f"{status}"))
    console.print(Text(f"  thread {r.get('thread_id')}", style="dim"))


def render_approvals(rows: list[dict[str, Any]]) -> None:
    """Approvals as a table, oldest first."""
    if not rows:
        console.print("no approvals waiting")
        return
    table = Table("approval", "model", "to", "requested by", "at", "state", "reason", "metrics")
    for a in rows:
        table.add_row(
            *cells(
                a["approval_id"],
                f"{a['model_name']} {describe_version(a['version'], a.get('label'))}"
                if a["version"]
                else a["model_name"],
                a["target_stage"] or a.get("action") or "",
                a["requested_by"],
                a["requested_at"].strftime("%Y-%m-%d %H:%M"),
                a["state"] + (f" by {a['approver']}" if a["approver"] else ""),
                a["reason"] or "",
                # names and sources are shown as they are
                ", ".join(f"{m['metric']}={m['value']:g} ({m['source']})" for m in a["metrics"]),
            )
        )
    console.print(table)


def render_status(result: dict[str, Any]) -> None:
    """Print the status at a glance: one row per deployment (or per version without one)."""
    if not result["initialized"]:
        console.print(
            f"[yellow]{_e(result['home'])} is not initialised[/]: run [bold]deployer init[/]"
        )
        return
    console.print(Text(f"home {result['home']}  database {result['database']}"))
    audit = result.get("audit")
    if audit and not audit["ok"]:
        console.print(
            f"[bold red]audit chain broken[/] (checked {audit['checked_at']} by the watcher): "
            f"{escape(audit['problem'])}"
        )
    for failure in result.get("monitor_failures") or []:
        at = f"{failure['failed_at']:%Y-%m-%d %H:%M:%S}"
        console.print(
            f"[bold red]monitor agent failing[/] (last at {at}): {escape(failure['message'])}"
        )
    if not result["models"]:
        console.print("no models registered yet: [bold]deployer register NAME --model-uri URI[/]")
        return
    table = Table(
        "model",
        "version",
        "label",
        "stage",
        "deployment",
        "status",
        "traffic",
        "health",
        "replicas",
        "endpoint",
    )
    for model in result["models"]:
        for version in model["versions"]:
            for d in version["deployments"] or [None]:
                table.add_row(
                    *cells(
                        model["name"],
                        f"v{version['version']}",
                        _label_cell(version, model.get("serving_aliases") or {}),
                        version["stage"],
                        *(_deployment_cells(d) if d else ("", "", "", "", "", "")),
                    )
                )
    console.print(table)
    for proposal in result.get("slo_proposals") or []:
        console.print(
            Text(f"SLO breach of {proposal['deployment_id']}: to roll back, run ", style="red")
            + Text(proposal["command"], style="bold"),
            highlight=False,
        )
    render_references(result["models"])


def _label_cell(version: dict[str, Any], serving: dict[str, Any]) -> str:
    """The version's label, and ``@champion``/``@challenger`` when it serves users as one."""
    roles = [f"@{alias}" for alias, v in serving.items() if v == version["version"]]
    return " ".join([version.get("label") or "", *roles]).strip()


def render_references(models: list[dict[str, Any]]) -> None:
    """One line per version with a drift reference: rows, columns and where they came from."""
    for model in models:
        for version in model["versions"]:
            ref = version.get("reference")
            if ref:
                console.print(
                    Text(
                        f"reference {model['name']} v{version['version']}: {ref['rows']} rows"
                        f" (of {ref['source_rows']}) x {len(ref['columns'])} columns"
                        f" from {ref['source']}"
                    )
                )


def _deployment_cells(d: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    return (
        d["deployment_id"],
        d["status"],
        traffic_text(d),
        health_text(d),
        replicas_text(d),
        d["endpoint_url"] or "",
    )


def replicas_text(d: dict[str, Any]) -> str:
    """``2/2 on host-a``: replicas running of wanted and where (a live deployment), then what
    it asked for: ``0.5 cpu``, ``512Mi``, ``autoscale 1-4``; the count alone when not live."""
    replicas = d.get("replicas")
    if not replicas:
        return DASH
    running = replicas.get("running")
    if running is None:
        parts = [f"{replicas['wanted']} wanted"]
    else:
        where = f" on {', '.join(replicas['nodes'])}" if replicas.get("nodes") else ""
        parts = [f"{running}/{replicas['wanted']}{where}"]
        if replicas.get("healthy") is False and replicas.get("detail"):
            parts.append(str(replicas["detail"]))
    if replicas.get("cpu"):
        parts.append(f"{replicas['cpu']} cpu")
    if replicas.get("memory"):
        parts.append(str(replicas["memory"]))
    scale = replicas.get("autoscale")
    if scale:
        parts.append(f"autoscale {scale['min_replicas']}-{scale['max_replicas']}")
    return " \N{MIDDLE DOT} ".join(parts)


def traffic_text(d: dict[str, Any]) -> str:
    """``90%``, ``mirror 100%``, or a dash for a deployment the routing table does not name.

    In a split, the stable deployment (where failed requests are retried) says so.
    """
    weight = d.get("weight")
    if weight:
        return f"{weight:g}% stable" if d.get("stable") and weight < 100 else f"{weight:g}%"
    if d.get("mirror_percent"):
        return f"mirror {d['mirror_percent']:g}%"
    return DASH


def health_text(d: dict[str, Any]) -> str:
    """``ok · 1,204 req · 0.2% err · p95 12 ms``, ``idle``, ``DOWN``; a dash when not live."""
    health = d.get("health")
    if health is None:
        return DASH
    verdict = str(health["verdict"])
    # Only a verdict with traffic behind it has figures worth a glance; DOWN must stand out.
    parts = [verdict.upper() if verdict == "down" else verdict]
    if verdict in ("ok", "degraded"):
        parts += [f"{health['request_count']:,} req", f"{health['error_rate']:.1%} err"]
        if health["p95_ms"] is not None:
            parts.append(f"p95 {health['p95_ms']:,.0f} ms")
    shadow = d.get("shadow")
    if shadow and shadow["agreement"] is not None:
        parts.append(f"agree {shadow['agreement']:.1%} of {shadow['compared']:,}")
    return " \N{MIDDLE DOT} ".join(parts)


def render_history(result: dict[str, Any]) -> None:
    """Print the timeline (time, kind, summary), newest first, then memory's advice."""
    name = result["model_name"]
    events = result["events"]
    if not events:
        console.print(f"no history yet for [bold]{_e(name)}[/]")
    else:
        labelled = bool(result.get("labels"))
        heads = ("time (UTC)", "kind", *(("label",) if labelled else ()), "summary")
        table = Table(*heads, title=Text(f"history of {name}"))
        for event in events:
            # Text, not markup: reasons and comments are free text and may hold brackets.
            label = (Text(event.get("label") or ""),) if labelled else ()
            table.add_row(_when(event["at"]), Text(event["kind"]), *label, Text(event["summary"]))
        console.print(table)
    console.print(Text(advice_line(result["advice"])))


def advice_line(advice: dict[str, Any]) -> str:
    """One line: the rollback preset and canary schedule memory advises, and why."""
    steps = advice.get("canary_steps")
    canary = f", canary {'/'.join(str(s) for s in steps)}%" if steps else ""
    why = advice.get("reason") or "nothing learned yet, the defaults apply"
    return f"advice: {advice['rollback_preset']} rollback config{canary} \N{EM DASH} {why}"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def figures_text(metrics: dict[str, Any]) -> str:
    """The figures a judgement was made on: the candidate's requests of its current step
    (``412 req, 1.2% err, p95 38 ms``), or a shadow's comparisons (``97.5% agreed of 40``)."""
    if "compared" in metrics:
        if not metrics["compared"]:
            return "no comparisons"
        return f"{metrics.get('agreement') or 0.0:.1%} agreed of {metrics['compared']:,}"
    # a rollout's candidate over its step, else an SLO check's trailing window
    candidate = metrics.get("candidate") or (metrics.get("slo") or {}).get("window") or {}
    if not candidate.get("requests"):
        return "no requests"
    parts = [f"{candidate['requests']:,} req", f"{candidate.get('error_rate', 0.0):.1%} err"]
    if candidate.get("p95_ms") is not None:
        parts.append(f"p95 {candidate['p95_ms']:,.0f} ms")
    return ", ".join(parts)


def render_checks(result: dict[str, Any]) -> None:
    """A table of judgements, oldest first."""
    checks = result["checks"]
    scope = result["deployment_id"] or result["model_name"] or "every model"
    if not checks:
        console.print(Text(f"no health checks yet for {scope}"), highlight=False)
        return
    table = Table("time (UTC)", "deployment", "action", "status", "figures", "message")
    table.title = Text(f"health checks of {scope}")
    for c in checks:
        colour = {"failed": "red", "passed": "green"}.get(c["status"], "yellow")
        table.add_row(
            Text(c["checked_at"].strftime("%Y-%m-%d %H:%M:%S")),
            Text(c["deployment_id"]),
            Text(c["action"], style="bold" if c["action"] in MOVES else ""),
            Text(c["status"], style=colour),
            Text(figures_text(c["metrics"])),
            # Text, not markup: messages quote figures and may hold brackets.
            Text(c["message"]),
        )
    console.print(table)


def render_deployments_page(page: dict[str, Any]) -> None:
    """One page of ``GET /v1/deployments`` (remote ``deployer deployments list``)."""
    rows = page["deployments"]
    if not rows:
        console.print("no deployments")
        return
    table = Table("deployment", "model", "strategy", "status", "traffic %", "url")
    for d in rows:
        table.add_row(
            Text(d["deployment_id"]),
            Text(f"{d['model_name']} v{d['model_version']}"),
            d["strategy"],
            d["status"],
            f"{d['traffic_percentage']:g}",
            Text(d.get("endpoint_url") or ""),
        )
    console.print(table)
    shown = page["offset"] + len(rows)
    if shown < page["total"]:
        console.print(f"{len(rows)} of {page['total']} (--offset {shown} for more)")
