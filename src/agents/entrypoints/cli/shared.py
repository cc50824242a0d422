"""What every ``deployer`` command shares: the ``--json`` and ``--by`` options, ``command()``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.cli.output import fail

JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document.")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who is acting (default: DEPLOYER_USER, else you).")
]


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
