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
    """Run the HTTP ops API in the foreground; Ctrl-C or SIGTERM stops it. Callers send a
    per-person token (an admin makes one: deployer access token create USER)."""
    from agents.entrypoints.api.server import check_port, serve_api

    with command(False) as c:
        check_port(host, port)
        with c.reader() as uow:
            live = [t for t in uow.access.tokens() if t.revoked_at is None]
        console.print(f"ops API on http://{host}:{port} (OpenAPI docs at /docs)", highlight=False)
        if not live:
            console.print(
                "no API tokens yet: an admin makes one with `deployer access token create USER`",
                highlight=False,
            )
        old = c.settings.home_dir / "api-tokens.json"
        if old.exists():
            console.print(
                f"ignoring {old}: it grants nothing now; tokens are per person "
                "(deployer access token create USER), so delete it",
                highlight=False,
                markup=False,
            )
        serve_api(c, host, port)


COMMANDS: tuple[Callable[..., None], ...] = (api,)
