"""``deployer traffic show|set|stats``: routing tables and what the gateways measured."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.shared import JsonOption, command
from agents.handlers.traffic import parse_weights, set_routes, show_routes
from agents.queries.traffic import traffic_stats

app = typer.Typer(help="Routing tables and what the gateways measured.")


@app.command("show")
def traffic_show(
    name: Annotated[str, typer.Argument(help="Model name.")],
    as_json: JsonOption = False,
) -> None:
    """Show a model's routing table."""
    with command(as_json) as c:
        result = show_routes(c, name)
        emit(result, as_json, lambda: _render_routes(result))


def _render_routes(result: dict[str, Any]) -> None:
    if not result["weights"]:
        console.print(f"{result['model_name']} has no routing table (no live deployment)")
        return
    table = Table("deployment", "weight %", "role")
    for deployment_id, weight in result["weights"].items():
        role = "stable" if deployment_id == result.get("stable_deployment_id") else ""
        table.add_row(deployment_id, f"{weight:g}", role)
    if result.get("shadow_deployment_id"):
        table.add_row(
            result["shadow_deployment_id"], f"mirror {result['shadow_percent']:g}", "shadow"
        )
    console.print(table)


@app.command("set")
def traffic_set(
    name: Annotated[str, typer.Argument(help="Model name.")],
    weights: Annotated[list[str], typer.Argument(help="DEPLOYMENT=PERCENT pairs summing to 100.")],
    shadow: Annotated[
        str | None, typer.Option("--shadow", help="Mirror to this deployment.")
    ] = None,
    mirror: Annotated[float, typer.Option("--mirror", help="Percent of requests to mirror.")] = 0.0,
    stable: Annotated[
        str | None, typer.Option("--stable", help="Retry target (default: the heaviest).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a model's routing table atomically (gateways serve it within a second)."""
    with command(as_json) as c:
        result = set_routes(
            c,
            name,
            parse_weights(weights),
            c.settings.user,
            shadow,
            mirror if shadow else 0.0,
            stable,
        )
        emit(result, as_json, lambda: _render_routes(result))


@app.command("stats")
def traffic_stats_command(
    name: Annotated[str | None, typer.Argument(help="Model name (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Requests, errors, latency per deployment and shadow agreement, as gateways reported."""
    with command(as_json) as c:
        result = traffic_stats(c, name)
        emit(result, as_json, lambda: _render_stats(result))


def _render_stats(result: dict[str, Any]) -> None:
    columns = ("deployment", "model", "req (60 s)", "errors", "p50 ms", "p95 ms", "p99 ms", "rps")
    table = Table(*columns)
    for r in result["deployments"]:
        table.add_row(
            r["deployment_id"],
            r["model_name"],
            str(r["requests"]),
            f"{r['errors']} ({r['error_rate']:.1%})",
            *(f"{r[k]:.2f}" if r[k] is not None else "-" for k in ("p50_ms", "p95_ms", "p99_ms")),
            f"{r['requests_per_second']:.1f}",
        )
    console.print(table)
    for s in result["shadows"]:
        agreement = "-" if s["agreement"] is None else f"{s['agreement']:.1%}"
        console.print(
            f"shadow {s['shadow_deployment_id']} ({s['model_name']}): agreement {agreement} "
            f"over {s['compared']} predictions, {s['shadow_errors']} shadow error(s)"
        )
