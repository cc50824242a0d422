"""``python -m agents.entrypoints.cli``: the ``deployer`` command line."""

from agents.entrypoints.cli import main

main()
