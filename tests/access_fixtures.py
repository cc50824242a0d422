"""Test helpers for role bindings and API tokens.

``issue_tokens_in_home`` grants each person their role and makes them a token, as the OS user
who ran ``deployer init`` (the first admin), for fixtures that hold only a home's environment;
``grant_roles`` / ``issue_tokens_in_process`` for tests that hold a ``Services`` (a container or
a stub over a real SQLite file). ``deployer access`` itself runs as a process in
tests/e2e/test_cli_access.py. ``running_api`` runs
``deployer api`` for a test and ``api_decide`` answers an approval through it with a token.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from agents.bootstrap import bootstrap
from agents.handlers import access
from agents.ports import Services
from agents.settings import Settings, local_identity
from mlops.processes import free_port, terminate_tree, wait_http_ok

DEPLOYER = Path(sys.executable).with_name("deployer")


def issue_tokens_in_home(env: dict[str, str], roles: dict[str, str]) -> dict[str, str]:
    """Grant each user their role and make each a token, as the home's first admin (the OS
    user who ran ``deployer init`` on ``env``'s DEPLOYER_HOME); {user: token}. The use cases of
    ``deployer access grant`` and ``access token create`` in this process, on the home ``env``
    names (initialised already), without two CLI calls per person (some 8 s each on CI):
    tests/e2e/test_cli_access.py's subject is ``deployer access`` itself."""
    settings = Settings(**{k: v for k, v in env.items() if k.startswith("DEPLOYER_")})
    c = bootstrap(settings)
    try:
        return issue_tokens_in_process(c, roles)
    finally:
        c.close()


def grant_roles(c: Services, roles: dict[str, str]) -> None:
    """In process: make the OS user the first admin if nobody is, then grant ``roles``."""
    access.ensure_first_admin(c, local_identity())
    for user, role in roles.items():
        access.grant(c, local_identity(), user, role)


def issue_tokens_in_process(c: Services, roles: dict[str, str]) -> dict[str, str]:
    """In process: ``grant_roles`` and one token per user; {user: token}."""
    grant_roles(c, roles)
    return {user: access.create_token(c, local_identity(), user)["token"] for user in roles}


@contextmanager
def running_api(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """``deployer api`` on a free port over ``env``'s home; its URL. Stopped by PID (its tree)
    when the block ends, whatever happens."""
    port = free_port()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [str(DEPLOYER), "api", "--port", str(port)],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_http_ok(f"{url}/healthz", 60, lambda: proc.poll() is None), log_path.read_text()
        yield url
    finally:
        terminate_tree(proc.pid)
        proc.wait(timeout=15)


def api_decide(
    url: str, token: str, approval_id: str, verb: str = "approve", comment: str = ""
) -> httpx.Response:
    """POST /v1/approvals/ID/(approve|reject) with ``token``: a person deciding remotely."""
    return httpx.post(
        f"{url}/v1/approvals/{approval_id}/{verb}",
        json={"comment": comment},
        headers={"Authorization": f"Bearer {token}"},
        timeout=240,
        trust_env=False,
    )
