"""``deployer label`` in remote mode, over ``POST /v1/models/{name}/versions/{version}/label``
(issue 15); its arguments are the local command's (``label_args``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from agents.entrypoints.cli.label_args import (
    ForceOption,
    ModelNameArgument,
    NewLabelArgument,
    VersionArgument,
)
from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.remote import model_segment, remote_command

JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]


def label(
    name: ModelNameArgument,
    version: VersionArgument,
    new_label: NewLabelArgument,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Give a registered version a semantic label through the ops API (deployers)."""
    with remote_command(as_json) as api:
        route = f"/v1/models/{model_segment(name)}/versions/{quote(version, safe='')}/label"
        result = api.post(route, {"label": new_label, "force": force}).body
        line = f"{name} v{result['version']} labelled {result['label']}"
        emit(result, as_json, lambda: console.print(line, markup=False, highlight=False))
