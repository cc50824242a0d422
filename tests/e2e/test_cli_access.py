"""``deployer access`` as an admin runs it: init makes the OS user the first admin (once), roles
are granted and revoked, a token is printed once and listed only by its id."""

from __future__ import annotations

import json
from pathlib import Path

from agents.settings import local_identity
from tests.e2e.cli import run, run_here
from tests.mlflow_template import seed_mlflow_store


def test_init_makes_the_first_admin_who_grants_and_makes_tokens_shown_once(
    tmp_path: Path,
) -> None:
    env = {"DEPLOYER_HOME": str(tmp_path / "home")}
    me = local_identity()
    # init in this process (``run_here``: the same command code; init's process and its fresh
    # MLflow store are test_cli_init_status's subject), over the session's migrated empty store
    seed_mlflow_store(tmp_path / "home" / "mlflow.db")
    first = run_here("init", "--json", env=env).json()
    assert first["first_admin"] == me
    assert run_here("init", "--json", env=env).json()["first_admin"] is None  # only once

    granted = run("access", "grant", "bob", "approver", env=env)
    assert granted.code == 0 and "bob now holds approver" in granted.stdout
    made = run("access", "token", "create", "bob", "--json", env=env).json()
    assert made["owner"] == "bob" and len(made["token"]) >= 43

    listed = run("access", "list", "--json", env=env)
    assert made["token"] not in listed.stdout
    document = listed.json()
    assert {(b["user"], b["role"]) for b in document["bindings"]} == {
        (me, "admin"),
        ("bob", "approver"),
    }
    assert [t["token_id"] for t in document["tokens"]] == [made["token_id"]]

    last = run("access", "revoke", me, "admin", env=env)
    assert last.code == 3 and f"{me} is the last platform admin" in last.stderr
    unknown = run("access", "grant", "bob", "superuser", env=env)
    assert unknown.code == 2 and "unknown role 'superuser'" in unknown.stderr
    revoked = run("access", "token", "revoke", made["token_id"], "--json", env=env).json()
    assert revoked["changed"] is True
    after = json.loads(run_here("access", "list", "--json", env=env).stdout)  # a read, as above
    assert after["tokens"][0]["revoked_at"] is not None
    assert run("access", "revoke", "bob", "approver", env=env).code == 0
