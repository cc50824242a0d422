"""``deployer api``: serve the HTTP ops API in the foreground. ``app`` registers it.

FastAPI and uvicorn are imported only when the command runs, so other commands start fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from agents.entrypoints.cli.output import console
from agents.entrypoints.cli.shared import command


def api(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
) -> None:
    """Run the HTTP ops API (bearer tokens with roles) in the foreground; Ctrl-C or SIGTERM
    stops it. Tokens: DEPLOYER_API_TOKENS, else $DEPLOYER_HOME/api-tokens.json (created with
    one token per role when neither exists)."""
    from agents.entrypoints.api.auth import create_token_file, load_tokens, token_source
    from agents.entrypoints.api.server import check_port, serve_api

    with command(False) as c:
        check_port(host, port)
        home = c.settings.home_dir
        source = token_source(home)
        if source is None:
            source = f"{create_token_file(home)} (created now: one token per role, mode 0600)"
        tokens = load_tokens(home)  # a malformed spec stops here, before anything is printed
        console.print(f"ops API on http://{host}:{port} (OpenAPI docs at /docs)", highlight=False)
        console.print(f"tokens from {source}", highlight=False)
        serve_api(c, host, port, tokens)


COMMANDS: tuple[Callable[..., None], ...] = (api,)
