"""The ``deployer`` command line (Typer). DESIGN.md section 6 is its contract.

Every command takes ``--json`` and then prints exactly one JSON document on stdout. Exit codes:
0 done, 2 bad input, 3 refused, 4 waiting for approval, 1 anything else.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.table import Table

from agents.bootstrap import Container, bootstrap
from agents.output import console, emit, fail
from agents.status import home_status
from database import migrate

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

JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]


@contextlib.contextmanager
def command(as_json: bool) -> Iterator[Container]:
    """Run one command: build the container, turn every error into one line and an exit code."""
    container: Container | None = None
    try:
        container = bootstrap()
        yield container
    except (SystemExit, KeyboardInterrupt, typer.Exit):
        raise
    except Exception as exc:
        fail(exc, as_json)
    finally:
        if container is not None:
            container.close()


@app.command()
def init(as_json: JsonOption = False) -> None:
    """Create DEPLOYER_HOME and migrate the state database to the newest schema."""
    with command(as_json) as c:
        home = c.settings.ensure_home()
        revision = migrate.upgrade(c.settings.database_url)
        result = {
            "ok": True,
            "home": str(home),
            "database": migrate.redact(c.settings.database_url),
            "schema_revision": revision,
            "mlflow_tracking_uri": c.settings.tracking_uri,
        }
        emit(result, as_json, lambda: _render_init(result))


def _render_init(result: dict[str, Any]) -> None:
    console.print(f"[green]initialised[/] {result['home']}")
    console.print(f"  state database  {result['database']} (schema {result['schema_revision']})")
    console.print(f"  MLflow registry {result['mlflow_tracking_uri']}")


@app.command()
def status(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show each model's versions by stage and its deployments."""
    with command(as_json) as c:
        result = home_status(c, name)
        emit(result, as_json, lambda: _render_status(result))


def _render_status(result: dict[str, Any]) -> None:
    if not result["initialized"]:
        console.print(f"[yellow]{result['home']} is not initialised[/]: run [bold]deployer init[/]")
        return
    console.print(f"home {result['home']}  database {result['database']}")
    if not result["models"]:
        console.print("no models registered yet: [bold]deployer register NAME --model-uri URI[/]")
        return
    table = Table("model", "version", "stage", "deployment", "status", "traffic", "endpoint")
    for model in result["models"]:
        for version in model["versions"]:
            deployments = version["deployments"] or [None]
            for d in deployments:
                table.add_row(
                    model["name"],
                    f"v{version['version']}",
                    version["stage"],
                    d["deployment_id"] if d else "",
                    d["status"] if d else "",
                    f"{d['traffic_percentage']:g}%" if d else "",
                    (d["endpoint_url"] or "") if d else "",
                )
    console.print(table)


def main() -> None:
    """Entry point of the ``deployer`` console script."""
    app()


if __name__ == "__main__":
    main()
