"""Access rules: only an admin grants, revokes and makes tokens; the last admin stays; every
change is audited; a token is shown once and stored only as its hash; bad input changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from agents.handlers import access
from database.access import token_hash
from database.models import AuditEventRow
from database.models_access import ApiTokenRow, RoleBindingRow
from lifecycle.errors import BadInputError, PermissionDeniedError, UnknownModelError
from tests.access_services import AccessServices

ADMIN = "root"


@pytest.fixture
def c(tmp_path: Path) -> Any:
    services = AccessServices.at(tmp_path)
    assert access.ensure_first_admin(services, ADMIN)
    access.grant(services, ADMIN, "ana", "deployer")
    return services


def footprint(c: Any) -> tuple[Any, ...]:
    """Everything access can change: bindings, tokens and the audit log."""
    with c.reader() as uow:
        s = uow.session
        return (
            [(b.user_name, b.role) for b in s.scalars(select(RoleBindingRow))],
            [(t.token_id, t.revoked_at) for t in s.scalars(select(ApiTokenRow))],
            s.scalar(select(func.count()).select_from(AuditEventRow)),
        )


def test_the_first_admin_is_made_once(c: Any) -> None:
    assert not access.ensure_first_admin(c, "someone-else")
    assert access.list_access(c)["bindings"][1]["user"] == ADMIN


NOT_ADMIN: dict[str, tuple[Callable[[Any], Any], str]] = {
    "grant": (
        lambda c: access.grant(c, "ana", "ana", "admin"),
        "an admin of the platform; only one may grant roles there",
    ),
    "revoke": (
        lambda c: access.revoke(c, "ana", ADMIN, "admin"),
        "an admin of the platform; only one may revoke roles there",
    ),
    "token": (
        lambda c: access.create_token(c, "ana", "ana"),
        "an admin of ana's tenants; only one may create API tokens for them",
    ),
    "revoke token": (
        lambda c: access.revoke_token(c, "ana", "tok-x"),
        "an admin; only one may revoke API tokens",
    ),
}


@pytest.mark.parametrize(("act", "what"), NOT_ADMIN.values(), ids=NOT_ADMIN.keys())
def test_only_an_admin_may_change_access(c: Any, act: Callable[[Any], Any], what: str) -> None:
    before = footprint(c)
    with pytest.raises(PermissionDeniedError) as raised:
        act(c)
    assert str(raised.value) == f"ana is not {what}"
    assert footprint(c) == before


def test_the_last_admin_cannot_be_revoked_but_one_of_two_can(c: Any) -> None:
    before = footprint(c)
    with pytest.raises(PermissionDeniedError) as raised:
        access.revoke(c, ADMIN, ADMIN, "admin")
    assert str(raised.value) == (
        "root is the last platform admin; grant admin to someone else before revoking it"
    )
    assert footprint(c) == before
    access.grant(c, ADMIN, "ana", "admin")
    assert access.revoke(c, "ana", ADMIN, "admin")["changed"]


BAD = {
    "unknown role": (lambda c: access.grant(c, ADMIN, "bo", "root"), BadInputError, "unknown"),
    "blank user": (lambda c: access.grant(c, ADMIN, "", "viewer"), BadInputError, "not a user"),
    "spaced user": (
        lambda c: access.grant(c, ADMIN, "bo b", "viewer"),
        BadInputError,
        "not a user",
    ),
    "token without a role": (
        lambda c: access.create_token(c, ADMIN, "bo"),
        BadInputError,
        "bo holds no role; grant one first",
    ),
    "unknown token": (
        lambda c: access.revoke_token(c, ADMIN, "tok-nope"),
        UnknownModelError,
        "no API token with id 'tok-nope'",
    ),
}


@pytest.mark.parametrize(("act", "error", "says"), BAD.values(), ids=BAD.keys())
def test_bad_input_changes_nothing(
    c: Any, act: Callable[[Any], Any], error: type[Exception], says: str
) -> None:
    before = footprint(c)
    with pytest.raises(error, match=says):
        act(c)
    assert footprint(c) == before


def test_every_change_is_audited_with_the_admin_and_never_the_token(c: Any) -> None:
    token = access.create_token(c, ADMIN, "ana")
    access.revoke_token(c, ADMIN, token["token_id"])
    access.revoke(c, ADMIN, "ana", "deployer")
    with c.reader() as uow:
        events = [(e.actor, e.action, e.subject, e.payload) for e in uow.audit.list()]
    assert events == [
        (ADMIN, "access_granted", ADMIN, {"role": "admin", "first_admin": True}),
        (ADMIN, "access_granted", "ana", {"role": "deployer", "tenant": "default"}),
        (ADMIN, "token_created", "ana", {"token_id": token["token_id"]}),
        (ADMIN, "token_revoked", "ana", {"token_id": token["token_id"]}),
        (ADMIN, "access_revoked", "ana", {"role": "deployer", "tenant": "default"}),
    ]
    assert token["token"] not in repr(events)


def test_a_token_is_stored_only_as_its_hash_and_listed_by_id(c: Any) -> None:
    made = access.create_token(c, ADMIN, "ana")
    with c.reader() as uow:
        (row,) = uow.access.tokens()
        stored = [str(v) for v in vars(row).values()]
    assert row.token_sha256 == token_hash(made["token"])
    assert made["token"] not in stored and len(made["token"]) >= 43
    listed = access.list_access(c)["tokens"]
    assert [t["token_id"] for t in listed] == [made["token_id"]]
    assert made["token"] not in repr(listed)


def test_granting_a_held_role_changes_nothing(c: Any) -> None:
    before = footprint(c)
    assert not access.grant(c, ADMIN, "ana", "deployer")["changed"]
    assert footprint(c) == before
