"""``deployer label`` in remote mode, over ``POST /v1/models/{name}/versions/{version}/label``;
and the version argument and ``--label`` option of the remote commands (issue 15)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.remote import remote_command

Version = Annotated[
    str, typer.Argument(help="Version: its number (3 or v3), its label (1.2.0) or latest.")
]
LabelOption = Annotated[
    str | None,
    typer.Option("--label", help="Semantic version label, e.g. 1.2.0 (unique per model)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]


def label(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Version,
    new_label: Annotated[str, typer.Argument(metavar="LABEL", help="The label, e.g. 1.2.0.")],
    force: Annotated[
        bool, typer.Option("--force", help="Change the label of a version that has one.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Give a registered version a semantic label through the ops API (deployers)."""
    with remote_command(as_json) as api:
        route = f"/v1/models/{quote(name, safe='')}/versions/{quote(version, safe='')}/label"
        result = api.post(route, {"label": new_label, "force": force}).body
        line = f"{name} v{result['version']} labelled {result['label']}"
        emit(result, as_json, lambda: console.print(line, markup=False, highlight=False))
