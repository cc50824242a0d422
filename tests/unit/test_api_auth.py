"""API tokens: the spec format, the tokens file, where tokens come from, and the role ladder."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from agents.entrypoints.api.auth import (
    TOKENS_ENV,
    ApiUser,
    Role,
    create_token_file,
    load_tokens,
    parse_token_spec,
    read_token_file,
    token_file,
    token_source,
)
from lifecycle.errors import ConfigurationError

ALICE = "alice-token-0123456789"
BOB = "bob-token-0123456789ab"


@pytest.fixture(autouse=True)
def no_tokens_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKENS_ENV, raising=False)


def test_a_spec_maps_each_token_to_its_user_and_role() -> None:
    table = parse_token_spec(f" {ALICE}=alice:deployer , {BOB}=bob:Approver ")
    assert table.authenticate(ALICE) == ApiUser("alice", Role.DEPLOYER)
    assert table.authenticate(BOB) == ApiUser("bob", Role.APPROVER)
    assert table.authenticate("alice-token-012345678") is None
    assert table.authenticate("") is None


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VIEWER, {Role.VIEWER}),
        (Role.DEPLOYER, {Role.VIEWER, Role.DEPLOYER}),
        (Role.APPROVER, {Role.VIEWER, Role.DEPLOYER, Role.APPROVER}),
        (Role.ADMIN, set(Role)),
    ],
)
def test_each_role_includes_the_ones_below_it(role: Role, allowed: set[Role]) -> None:
    assert {needed for needed in Role if ApiUser("u", role).may(needed)} == allowed


def test_approvers_are_the_users_of_approver_and_admin_tokens() -> None:
    spec = f"{ALICE}=alice:approver,{BOB}=bob:deployer,root-token-0123456789=root:admin"
    assert parse_token_spec(spec).holders_of(Role.APPROVER) == {"alice", "root"}


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("", "names no token"),
        (f"{ALICE}", "entry 1 of DEPLOYER_API_TOKENS is not TOKEN=USER:ROLE"),
        (f"{ALICE}=alice", "entry 1 of DEPLOYER_API_TOKENS is not TOKEN=USER:ROLE"),
        (f"{ALICE}=:deployer", "is not TOKEN=USER:ROLE"),
        (f"{ALICE}=alice:deployer,{BOB}=bob:boss", "entry 2 of DEPLOYER_API_TOKENS has unknown"),
        ("short=alice:viewer", "at least 16 characters"),
        (f"{ALICE}=alice:viewer,{ALICE}=bob:admin", "entry 2 of DEPLOYER_API_TOKENS repeats"),
    ],
)
def test_a_malformed_spec_is_one_line_that_never_shows_a_token(spec: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_token_spec(spec)
    message = str(refused.value)
    assert says in message
    assert "\n" not in message
    assert ALICE not in message and BOB not in message and "short" not in message


def test_deployer_api_writes_a_private_tokens_file_with_one_user_per_role(tmp_path: Path) -> None:
    path = create_token_file(tmp_path / "home")
    assert path == token_file(tmp_path / "home")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = json.loads(path.read_text())["tokens"]
    assert [(r["user"], r["role"]) for r in rows] == [(r.label, r.label) for r in Role]
    assert len({r["token"] for r in rows}) == len(Role)
    table = read_token_file(path)
    assert table.authenticate(rows[1]["token"]) == ApiUser("deployer", Role.DEPLOYER)
    with pytest.raises(FileExistsError):
        create_token_file(tmp_path / "home")


def test_tokens_come_from_the_environment_before_the_home_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert token_source(tmp_path) is None
    with pytest.raises(ConfigurationError, match="no API tokens: set DEPLOYER_API_TOKENS"):
        load_tokens(tmp_path)
    create_token_file(tmp_path)
    assert token_source(tmp_path) == str(token_file(tmp_path))
    assert load_tokens(tmp_path).source == str(token_file(tmp_path))
    monkeypatch.setenv(TOKENS_ENV, f"{ALICE}=alice:viewer")
    assert token_source(tmp_path) == TOKENS_ENV
    assert load_tokens(tmp_path).authenticate(ALICE) == ApiUser("alice", Role.VIEWER)


@pytest.mark.parametrize(
    "content",
    ["not json", '{"tokens": [{"token": "x"}]}', '{"users": []}', '{"tokens": []}'],
)
def test_a_malformed_tokens_file_is_a_configuration_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "api-tokens.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError) as refused:
        read_token_file(path)
    assert str(path) in str(refused.value)
