"""The ``deployer`` command line (Typer); ``main`` is the console script's entry point."""

from agents.entrypoints.cli.app import app, main

__all__ = ["app", "main"]
