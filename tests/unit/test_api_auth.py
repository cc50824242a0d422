"""API callers: the role ladder, and tokens authenticated against the state database."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.entrypoints.api.auth import ApiUser, DbAuthenticator, Role
from agents.handlers import access
from agents.settings import local_identity
from tests.access_fixtures import issue_tokens_in_process
from tests.access_services import AccessServices


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


def test_a_user_without_a_role_may_nothing() -> None:
    user = ApiUser("u", None)
    assert not any(user.may(needed) for needed in Role)
    assert user.role_label == "no"


def test_a_token_authenticates_its_owner_with_their_highest_role(tmp_path: Path) -> None:
    c = AccessServices.at(tmp_path)
    tokens = issue_tokens_in_process(c, {"ana": "deployer", "bo": "approver"})
    access.grant(c, local_identity(), "bo", "viewer")
    auth = DbAuthenticator(c)
    assert auth.authenticate(tokens["ana"]) == ApiUser("ana", Role.DEPLOYER)
    assert auth.authenticate(tokens["bo"]) == ApiUser("bo", Role.APPROVER)


@pytest.mark.parametrize("token", ["", "x", "not-a-token-0123456789abcdef"])
def test_any_other_text_authenticates_nobody(tmp_path: Path, token: str) -> None:
    c = AccessServices.at(tmp_path)
    issue_tokens_in_process(c, {"ana": "deployer"})
    assert DbAuthenticator(c).authenticate(token) is None


def test_a_revoke_takes_effect_on_the_next_call(tmp_path: Path) -> None:
    c = AccessServices.at(tmp_path)
    tokens = issue_tokens_in_process(c, {"ana": "approver"})
    auth = DbAuthenticator(c)
    access.revoke(c, local_identity(), "ana", "approver")
    assert auth.authenticate(tokens["ana"]) == ApiUser("ana", None)
    token_id = access.list_access(c)["tokens"][0]["token_id"]
    access.revoke_token(c, local_identity(), token_id)
    assert auth.authenticate(tokens["ana"]) is None
