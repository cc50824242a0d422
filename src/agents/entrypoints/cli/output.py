"""How the CLI speaks: exactly one JSON document with ``--json``, else readable rich output.

Errors are one line on stderr with the exit code their class carries (DESIGN.md section 6);
a traceback is shown only with ``DEPLOYER_DEBUG=1``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from lifecycle.errors import BadInputError, ModelDeployerError
from lifecycle.jsonable import jsonable
from lifecycle.redaction import redact_text

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def to_json(data: object) -> str:
    """Encode the CLI's result as JSON (datetimes as ISO 8601, enums by value)."""
    return json.dumps(jsonable(data), indent=2, sort_keys=False)


def emit(data: object, as_json: bool, render: Callable[[], None]) -> None:
    """Print ``data`` as one JSON document, or call ``render`` for people."""
    if as_json:
        sys.stdout.write(to_json(data) + "\n")
    else:
        render()


def fail(exc: BaseException, as_json: bool = False) -> NoReturn:
    """Report an error in one line on stderr (and as JSON on stdout with ``--json``); exit."""
    if isinstance(exc, ModelDeployerError):
        code, message = exc.exit_code, str(exc)
    else:
        code, message = 1, f"internal error: {type(exc).__name__}: {exc}".splitlines()[0]
    message = redact_text(message)  # a vendor's message may quote a URI with its password
    if os.environ.get("DEPLOYER_DEBUG") == "1":
        traceback.print_exception(exc, file=sys.stderr)
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if as_json:
        # An error the ops API answered with keeps the API's type name (remote mode).
        kind = getattr(exc, "kind", type(exc).__name__)
        error = {"type": kind, "message": message, "exit_code": code}
        sys.stdout.write(to_json({"ok": False, "error": error}) + "\n")
    raise SystemExit(code)


IDENTITY_FLAG = "--by"
CLAIMED_IDENTITY = (
    "--by is not accepted: local commands act as the OS user who runs them, remote ones as the "
    "owner of DEPLOYER_TOKEN (with DEPLOYER_API_URL); an admin grants roles with "
    "`deployer access grant USER ROLE`"
)


def refuse_claimed_identity(argv: Sequence[str]) -> None:
    """Exit 2 with one line when the arguments (before a ``--``) try ``--by``; nothing runs."""
    for arg in argv:
        if arg == "--":
            return
        if arg == IDENTITY_FLAG or arg.startswith(IDENTITY_FLAG + "="):
            fail(BadInputError(CLAIMED_IDENTITY), "--json" in argv)
