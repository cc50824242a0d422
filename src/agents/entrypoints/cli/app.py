"""The ``deployer`` command line (Typer). DESIGN.md section 6 is its contract.

Every command takes ``--json`` and then prints exactly one JSON document on stdout. Exit codes:
0 done, 2 bad input, 3 refused, 4 waiting for approval, 1 anything else.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from agents.commands import Register
from agents.entrypoints.cli import access as cli_access
from agents.entrypoints.cli import agent as cli_agent
from agents.entrypoints.cli import api as cli_api
from agents.entrypoints.cli import decisions as cli_decisions
from agents.entrypoints.cli import drift as cli_drift
from agents.entrypoints.cli import labels as cli_labels
from agents.entrypoints.cli.groups import GROUPS
from agents.entrypoints.cli.labels import LabelOption, VersionArgument
from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.render import render_status
from agents.entrypoints.cli.retraining import retrain as cli_retrain
from agents.entrypoints.cli.shared import JsonOption, command, refuse_claimed_identity
from agents.handlers import access, registration
from agents.handlers.registration import drift_line, parse_metrics, sync_registry
from agents.handlers.serving import down as stop_everything
from agents.handlers.serving import list_endpoints, package_version, start_endpoint, stop_endpoint
from agents.queries.status import home_status
from database import migrate
from lifecycle.redaction import redact_uri

for _var, _value in (
    ("BENTOML_DO_NOT_TRACK", "true"),
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("DO_NOT_TRACK", "1"),
):
    os.environ.setdefault(_var, _value)

app = typer.Typer(
    name="deployer",
    help="Promote, deploy, watch and roll back ML models safely.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def init(as_json: JsonOption = False) -> None:
    """Create DEPLOYER_HOME and migrate the state database to the newest schema; the OS user who
    runs it becomes the first admin when nobody is one yet."""
    with command(as_json) as c:
        home = c.settings.ensure_home()
        revision = migrate.upgrade(c.settings.database_url)
        c.registry.list_model_names()  # creates the embedded MLflow store now, not mid-command
        made_admin = access.ensure_first_admin(c, c.settings.user)
        result = {
            "ok": True,
            "home": str(home),
            "database": migrate.redact(c.settings.database_url),
            "schema_revision": revision,
            "mlflow_tracking_uri": redact_uri(c.settings.tracking_uri),
            "first_admin": c.settings.user if made_admin else None,
        }
        emit(result, as_json, lambda: _render_init(result))


def _render_init(result: dict[str, Any]) -> None:
    console.print(f"[green]initialised[/] {result['home']}")
    console.print(f"  state database  {result['database']} (schema {result['schema_revision']})")
    console.print(f"  MLflow registry {result['mlflow_tracking_uri']}", markup=False)
    if result["first_admin"]:
        console.print(
            f"  first admin     {result['first_admin']} (grant roles: deployer access)",
            markup=False,
        )


@app.command()
def status(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show each model's versions by stage and its deployments."""
    with command(as_json) as c:
        result = home_status(c, name)
        emit(result, as_json, lambda: render_status(result))


@app.command()
def register(
    name: Annotated[str, typer.Argument(help="Model name, e.g. fraud_detector.")],
    model_uri: Annotated[
        str, typer.Option("--model-uri", help="runs:/..., models:/... or an MLflow model folder.")
    ],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="K=V, repeatable; adds to the run's.")
    ] = None,
    criteria: Annotated[
        list[str] | None,
        typer.Option(
            "--criteria", help='Success criterion "K>=V" or "K>=production-0.02", repeatable.'
        ),
    ] = None,
    reference: cli_drift.ReferenceOption = None,
    label: LabelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a model version (stage development) in MLflow and the state database."""
    with command(as_json) as c:
        asked = {"metrics": parse_metrics(metric or []), "criteria": tuple(criteria or ())}
        request = Register(
            model_name=name, model_uri=model_uri, reference=reference, label=label, **asked
        )
        result = registration.register(c, request, c.settings.user)
        emit(result, as_json, lambda: cli_drift.render_registered(result, name, model_uri))


@app.command()
def package(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: VersionArgument,
    export: Annotated[
        str | None,
        typer.Option(
            "--export",
            help="Also write a .bento archive to this folder (bentoml import it anywhere the "
            "packages its bento.yaml lists are installed).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if it exists.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Build the version's bento (once; later calls reuse it), optionally exported."""
    with command(as_json) as c:
        result = package_version(c, name, version, c.settings.user, export, force)

        def render() -> None:
            verb = "reused" if result["reused"] else "built"
            console.print(f"{verb} bento [bold]{result['bento_tag']}[/]")
            if result["export_path"]:
                size = size_text(result["export_bytes"])
                console.print(Text(f"exported to {result['export_path']} ({size})"))

        emit(result, as_json, render)


def size_text(size: int) -> str:
    """``812 B``, ``12.3 KiB``, ``4.5 MiB``, ``1.2 GiB``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:,.1f} {unit}"
    return f"{size} B"


@app.command()
def sync(as_json: JsonOption = False) -> None:
    """Reconcile the state database with the MLflow registry (safe to run again)."""
    with command(as_json) as c:
        report = sync_registry(c.uow, c.registry, c.settings.user).as_dict()

        def render() -> None:
            console.print(
                f"added {len(report['added'])} (as development), "
                f"differing {len(report['drift'])} (reported, not adopted), "
                f"unchanged {report['unchanged']}"
            )
            for found in report["drift"]:
                console.print(f"[yellow]{escape(drift_line(found))}[/]")
            for refused in report["refused"]:
                console.print(f"[red]not added: {escape(refused['reason'])}[/]")
            for key in report["missing_in_registry"]:
                console.print(f"[yellow]{key} is in the state database but not in MLflow[/]")
            for line in report["refused"]:
                console.print(f"not taken in: {line}", style="yellow", markup=False)

        emit(report, as_json, render)


endpoints_app = typer.Typer(help="Local model endpoints (bentoml serve processes).")
app.add_typer(endpoints_app, name="endpoints")


@endpoints_app.callback(invoke_without_command=True)
def endpoints_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List endpoints; records whose process died are marked failed."""
    if ctx.invoked_subcommand is not None:
        return
    with command(as_json) as c:
        rows = list_endpoints(c, c.settings.user)
        emit({"endpoints": rows}, as_json, lambda: _render_endpoints(rows))


def _render_endpoints(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no endpoints")
        return
    table = Table("deployment", "model", "status", "alive", "url", "pid")
    for r in rows:
        table.add_row(
            r["deployment_id"],
            f"{r['model_name']} v{r['version']}",
            r["status"],
            "yes" if r["alive"] else "no",
            r["endpoint_url"] or "",
            str(r["pid"] or ""),
        )
    console.print(table)


@endpoints_app.command("start")
def endpoints_start(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: VersionArgument,
    workers: Annotated[int, typer.Option("--workers", min=1, max=16)] = 1,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535)] = None,
    as_json: JsonOption = False,
) -> None:
    """Package if needed and start a detached endpoint; waits until it is ready."""
    with command(as_json) as c:
        result = start_endpoint(c, name, version, c.settings.user, workers, port)
        emit(
            result,
            as_json,
            lambda: console.print(
                f"[green]ready[/] {result['deployment_id']} at {result['endpoint_url']} "
                f"(pid {result['pid']})"
            ),
        )


@endpoints_app.command("stop")
def endpoints_stop(
    deployment_id: Annotated[str, typer.Argument(help="Deployment id.")],
    as_json: JsonOption = False,
) -> None:
    """Stop one endpoint and all its worker processes."""
    with command(as_json) as c:
        result = stop_endpoint(c, deployment_id, c.settings.user, "stopped by operator")
        emit(result, as_json, lambda: console.print(f"stopped {deployment_id}"))


@app.command()
def gateway(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    no_retry: Annotated[
        bool, typer.Option("--no-retry", help="Do not retry a canary's failures on stable.")
    ] = False,
    upstream_timeout: Annotated[
        float, typer.Option("--upstream-timeout", min=0.1, help="Seconds per upstream call.")
    ] = 10.0,
) -> None:
    """Run the traffic gateway in the foreground (stop with Ctrl-C or SIGTERM).

    A thin alias of ``python -m agents.entrypoints.gateway``, which processes that start a
    gateway use: it loads no CLI, MLflow or LangGraph."""
    from agents.entrypoints.gateway import serve

    with command(False):
        serve(host, port, not no_retry, upstream_timeout)


@app.command()
def down(as_json: JsonOption = False) -> None:
    """Stop every endpoint and gateway this home started."""
    with command(as_json) as c:
        result = stop_everything(c, c.settings.user)
        emit(
            result,
            as_json,
            lambda: console.print(
                f"stopped {len(result['stopped'])} endpoint(s)"
                + (
                    f", {len(result['gateways_stopped'])} gateway(s)"
                    if result["gateways_stopped"]
                    else ""
                )
                + (
                    f" and {len(result['strays_stopped'])} unrecorded process(es)"
                    if result["strays_stopped"]
                    else ""
                )
            ),
        )


for _command in (
    *cli_agent.COMMANDS,
    *cli_api.COMMANDS,
    *cli_drift.COMMANDS,
    *cli_decisions.COMMANDS,
    *cli_labels.COMMANDS,
):
    app.command()(_command)
for _name, _group in GROUPS:
    app.add_typer(_group, name=_name)


app.command()(cli_access.whoami)
app.command("retrain")(cli_retrain)


def main() -> None:
    """The local command line (``agents.entrypoints.cli.main`` picks the mode first)."""
    refuse_claimed_identity(sys.argv[1:])
    app()


if __name__ == "__main__":
    main()
