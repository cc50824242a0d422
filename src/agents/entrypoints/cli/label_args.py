"""The version argument every command takes and ``deployer label``'s arguments (issue 15),
defined once for the local commands (``labels.py``, ``app.py``, ``agent.py``) and the remote
ones (``remote_labels.py``, ``remote_commands.py``). Only Typer here: remote mode imports it and
must import no database, MLflow or graph library."""

from __future__ import annotations

from typing import Annotated

import typer

ModelNameArgument = Annotated[str, typer.Argument(help="Model name.")]
VersionArgument = Annotated[
    str,
    typer.Argument(help="Version: its number (3 or v3), its label (1.2.0 or v1.2.0) or latest."),
]
LabelOption = Annotated[
    str | None,
    typer.Option("--label", help="Semantic version label, e.g. 1.2.0 (unique per model)."),
]
NewLabelArgument = Annotated[str, typer.Argument(metavar="LABEL", help="The label, e.g. 1.2.0.")]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Change the label of a version that has one.")
]
