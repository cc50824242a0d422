"""``deployer decisions [NAME]``: the monitor agent's decisions, newest first, with reasons
(``agents.queries.decisions``); ``deployer checks`` still shows the deployer's judgements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from agents.entrypoints.cli.output import emit
from agents.entrypoints.cli.render_decisions import render_decisions
from agents.entrypoints.cli.shared import JsonOption, command


def decisions(
    name: Annotated[str, typer.Argument(help="Model name (default: every model).")] = "",
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    as_json: JsonOption = False,
) -> None:
    """The monitor agent's decisions, newest first: nothing, alert, rollback or retrain, each
    with its reasons and what it handed over (a retraining run, a rollback request)."""
    from agents.queries.decisions import decisions as query

    with command(as_json) as c:
        result = query(c, name, limit)
        emit(result, as_json, lambda: render_decisions(result))


COMMANDS: tuple[Callable[..., None], ...] = (decisions,)
"""Registered on the local ``deployer`` app."""
