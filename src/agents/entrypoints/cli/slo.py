"""``deployer slo``: a model's service-level objectives (show, set, reset).

Each watch tick judges every routed deployment against them (``agents.model_deployer.slo``);
``deployer checks`` shows the judgements. Setting or resetting is a deployer's act, audited
(``slo_set``); a bad value is refused with one line and nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.shared import JsonOption, command
from agents.handlers import slo

app = typer.Typer(help="Service-level objectives: error rate, p95/p99 (absolute and relative).")

NameArg = Annotated[str, typer.Argument(help="Model name.")]


def _off(value: str | None) -> float | None:
    return None if value is None or value.strip().lower() in ("off", "none") else float(value)


@app.command("show")
def show(name: NameArg, as_json: JsonOption = False) -> None:
    """The objectives NAME is held to (its own over the defaults)."""
    with command(as_json) as c:
        result = slo.show(c, name)
        emit(result, as_json, lambda: render_objectives(result))


@app.command("set")
def set_objectives(
    name: NameArg,
    p95_ms: Annotated[float | None, typer.Option("--p95-ms", help="p95 at most, ms.")] = None,
    p99_ms: Annotated[float | None, typer.Option("--p99-ms", help="p99 at most, ms.")] = None,
    error_rate: Annotated[
        float | None, typer.Option("--error-rate", help="Errors per request at most (0..1).")
    ] = None,
    latency_factor: Annotated[
        float | None,
        typer.Option("--latency-factor", help="p95/p99 at most k x the deployment's baseline."),
    ] = None,
    min_requests: Annotated[
        int | None, typer.Option("--min-requests", help="Fewer requests is inconclusive.")
    ] = None,
    off: Annotated[
        list[str] | None,
        typer.Option("--off", help="Turn a bound off: p95_ms, p99_ms, error_rate, latency_factor."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Set some of NAME's objectives (deployers only); the others keep their values."""
    given: dict[str, float | int | None] = {
        k: v
        for k, v in {
            "p95_ms": p95_ms,
            "p99_ms": p99_ms,
            "error_rate": error_rate,
            "latency_factor": latency_factor,
            "min_requests": min_requests,
        }.items()
        if v is not None
    }
    given.update({k: None for k in off or []})
    with command(as_json) as c:
        result = slo.set_objectives(c, c.settings.user, name, given)
        emit(result, as_json, lambda: render_objectives(result))


@app.command("reset")
def reset(name: NameArg, as_json: JsonOption = False) -> None:
    """NAME back to the default objectives (deployers only)."""
    with command(as_json) as c:
        result = slo.reset(c, c.settings.user, name)
        emit(result, as_json, lambda: render_objectives(result))


def render_objectives(result: dict[str, Any]) -> None:
    """A table of the objectives, saying which are the model's own."""
    own = result["overrides"]
    table = Table("objective", "value", "from")
    table.title = Text(f"service-level objectives of {result['model_name']}")
    for key, value in result["objectives"].items():
        shown = "off" if value is None else f"{value:g}"
        table.add_row(Text(key), Text(shown), Text("model" if key in own else "default"))
    console.print(table)
    console.print(
        Text(
            f"window {result['window_seconds']:g} s, baseline {result['baseline_seconds']:g} s, "
            f"guard window {result['guard_window_seconds']:g} s"
        ),
        highlight=False,
    )
    for d in result["deployments"]:
        console.print(Text(f"{d['deployment_id']}: {d['status']}"), highlight=False)
