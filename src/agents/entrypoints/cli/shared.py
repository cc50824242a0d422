"""What every ``deployer`` command shares: the ``--json`` option, ``command()``, and the refusal
of a claimed identity.

A local command acts as the OS user who runs it (``Settings.user``); there is no option to act as
someone else. ``--by`` (which once named the actor) is refused before any command runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.cli.output import fail
from agents.entrypoints.cli.output import refuse_claimed_identity as refuse_claimed_identity

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
