"""Versions as people name them (issue 15): the version argument every command takes (``3``,
``v3``, ``1.2.0``, ``v1.2.0`` or ``latest``), ``register --label`` and ``deployer label``."""

from __future__ import annotations

from collections.abc import Callable

from agents.entrypoints.cli.label_args import (
    ForceOption,
    ModelNameArgument,
    NewLabelArgument,
)
from agents.entrypoints.cli.label_args import LabelOption as LabelOption
from agents.entrypoints.cli.label_args import VersionArgument as VersionArgument
from agents.entrypoints.cli.output import console, emit
from agents.entrypoints.cli.shared import JsonOption, command


def label(
    name: ModelNameArgument,
    version: VersionArgument,
    new_label: NewLabelArgument,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Give a registered version a semantic label (deployers; unique per model; a labelled
    version keeps its label unless --force)."""
    from agents.handlers.labels import label as label_version

    with command(as_json) as c:
        result = label_version(c, name, version, new_label, c.settings.user, force)

        def render() -> None:
            was = f" (was {result['previous']})" if result.get("previous") else ""
            same = "" if result["changed"] else " (already)"
            line = f"{name} v{result['version']} labelled {result['label']}{was}{same}"
            console.print(line, markup=False, highlight=False)

        emit(result, as_json, render)


COMMANDS: tuple[Callable[..., None], ...] = (label,)
