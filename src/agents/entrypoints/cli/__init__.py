"""The ``deployer`` command line (Typer); ``main`` is the console script's entry point.

``main`` picks the mode before anything heavy is imported: remote mode (``DEPLOYER_API_URL``
set; ``remote_commands``) needs only the ops API's client, local mode (``app``) the whole
application.
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    """Entry point of the ``deployer`` console script."""
    import sys

    from agents.entrypoints.cli.output import refuse_claimed_identity
    from agents.entrypoints.cli.remote import remote_url

    refuse_claimed_identity(sys.argv[1:])  # in either mode: no flag claims an identity

    if remote_url() is None:
        from agents.entrypoints.cli.app import app
    else:
        from agents.entrypoints.cli.remote_commands import app
    app()


def __getattr__(name: str) -> Any:
    """``app`` (the local command line), imported on first use."""
    if name == "app":
        from agents.entrypoints.cli.app import app

        return app
    raise AttributeError(name)


__all__ = ["app", "main"]
