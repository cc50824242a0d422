"""Roles per tenant and tenants themselves (issue 19 items 2-3): a tenant's admin grants and
revokes only in their tenant, platform roles are a platform admin's, the last platform admin
stays, tenants are a platform admin's to make and delete, and a refusal changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from agents.handlers import access, tenants
from database.models import AuditEventRow, ModelVersionRow
from database.models_access import RoleBindingRow, TenantRow
from lifecycle.approval import Role
from lifecycle.errors import BadInputError, PermissionDeniedError
from lifecycle.tenants import PLATFORM, Grants, TenantNotEmptyError, UnknownTenantError
from tests.access_services import AccessServices

ROOT = "root"


@pytest.fixture
def c(tmp_path: Path) -> Any:
    services = AccessServices.at(tmp_path)
    assert access.ensure_first_admin(services, ROOT)
    for name in ("default", "team-a", "team-b"):
        tenants.create_tenant(services, ROOT, name)
    access.grant(services, ROOT, "alma", "admin", tenant="team-a")
    access.grant(services, ROOT, "dev", "deployer", tenant="team-a")
    return services


def footprint(c: Any) -> tuple[Any, ...]:
    with c.reader() as uow:
        s = uow.session
        return (
            sorted((b.user_name, b.role, b.tenant) for b in s.scalars(select(RoleBindingRow))),
            sorted(t.name for t in s.scalars(select(TenantRow))),
            s.scalar(select(func.count()).select_from(AuditEventRow)),
        )


def grants(c: Any, user: str) -> Grants:
    with c.reader() as uow:
        return uow.access.grants_of(user)


def test_a_tenant_admin_manages_roles_in_their_own_tenant_only(c: Any) -> None:
    assert access.grant(c, "alma", "ann", "viewer", tenant="team-a")["changed"]
    assert grants(c, "ann").roles == {"team-a": Role.VIEWER}
    assert access.revoke(c, "alma", "dev", "deployer", tenant="team-a")["changed"]
    assert grants(c, "dev").roles == {}


REFUSED: dict[str, tuple[Callable[[Any], Any], type[Exception], str]] = {
    "another tenant": (
        lambda c: access.grant(c, "alma", "ann", "viewer", tenant="team-b"),
        PermissionDeniedError,
        "alma is not an admin of tenant 'team-b'",
    ),
    "the platform": (
        lambda c: access.grant(c, "alma", "ann", "viewer", platform=True),
        PermissionDeniedError,
        "alma is not an admin of the platform",
    ),
    "no scope: admin is the platform's": (
        lambda c: access.grant(c, "alma", "ann", "admin"),
        PermissionDeniedError,
        "alma is not an admin of the platform",
    ),
    "revoke in another tenant": (
        lambda c: access.revoke(c, "dev", "alma", "admin", tenant="team-a"),
        PermissionDeniedError,
        "dev is not an admin of tenant 'team-a'",
    ),
    "both scopes": (
        lambda c: access.grant(c, ROOT, "ann", "viewer", tenant="team-a", platform=True),
        BadInputError,
        "not both",
    ),
    "unknown tenant": (
        lambda c: access.grant(c, ROOT, "ann", "viewer", tenant="team-z"),
        UnknownTenantError,
        "no tenant 'team-z'",
    ),
    "bad tenant name": (
        lambda c: access.grant(c, ROOT, "ann", "viewer", tenant="Team A"),
        BadInputError,
        "invalid tenant name",
    ),
    "the last platform admin": (
        lambda c: access.revoke(c, ROOT, ROOT, "admin", platform=True),
        PermissionDeniedError,
        "root is the last platform admin",
    ),
    "a tenant admin creates a tenant": (
        lambda c: tenants.create_tenant(c, "alma", "team-c"),
        PermissionDeniedError,
        "alma is not a platform admin",
    ),
    "a tenant admin deletes their tenant": (
        lambda c: tenants.delete_tenant(c, "alma", "team-a"),
        PermissionDeniedError,
        "alma is not a platform admin",
    ),
    "the default tenant": (
        lambda c: tenants.delete_tenant(c, ROOT, "default"),
        BadInputError,
        "cannot be deleted",
    ),
    "an unknown tenant": (
        lambda c: tenants.delete_tenant(c, ROOT, "team-z"),
        UnknownTenantError,
        "no tenant 'team-z'",
    ),
}


@pytest.mark.parametrize(("act", "error", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_change_is_typed_and_changes_nothing(
    c: Any, act: Callable[[Any], Any], error: type[Exception], says: str
) -> None:
    before = footprint(c)
    with pytest.raises(error, match=says):
        act(c)
    assert footprint(c) == before


def test_a_platform_admin_may_go_when_another_is_left(c: Any) -> None:
    access.grant(c, ROOT, "pat", "admin", platform=True)
    assert access.revoke(c, "pat", ROOT, "admin", platform=True)["changed"]
    assert grants(c, ROOT).roles == {}
    assert grants(c, "pat").is_platform_admin


def test_a_tenant_with_models_is_not_deleted_and_an_empty_one_goes_with_its_bindings(
    c: Any,
) -> None:
    with c.uow() as uow:
        uow.session.add(
            ModelVersionRow(
                model_version_id="team-b/fraud/1", model_name="team-b/fraud", version="1"
            )
        )
        uow.commit()
    access.grant(c, ROOT, "bo", "approver", tenant="team-b")
    before = footprint(c)
    with pytest.raises(TenantNotEmptyError, match="team-b/fraud"):
        tenants.delete_tenant(c, ROOT, "team-b")
    assert footprint(c) == before
    done = tenants.delete_tenant(c, ROOT, "team-a")
    assert done["bindings_removed"] == 2
    assert grants(c, "alma").roles == {} and grants(c, "dev").roles == {}
    with c.reader() as uow:
        (event,) = [e for e in uow.audit.list() if e.action == "tenant_deleted"]
    assert (event.actor, event.subject) == (ROOT, "team-a")


def test_tenants_are_listed_to_the_people_in_them(c: Any) -> None:
    every = [t["tenant"] for t in tenants.list_tenants(c, ROOT)["tenants"]]
    assert every == ["default", "team-a", "team-b"]
    assert [t["tenant"] for t in tenants.list_tenants(c, "dev")["tenants"]] == ["team-a"]
    assert tenants.list_tenants(c, "nobody")["tenants"] == []


def test_creating_a_tenant_twice_changes_nothing_the_second_time(c: Any) -> None:
    before = footprint(c)
    assert not tenants.create_tenant(c, ROOT, "team-a")["changed"]
    assert footprint(c) == before


def test_access_list_shows_each_binding_s_scope(c: Any) -> None:
    scopes = {(b["user"], b["tenant"]) for b in access.list_access(c)["bindings"]}
    assert {(ROOT, PLATFORM), ("alma", "team-a"), ("dev", "team-a")} <= scopes


def test_a_token_is_made_and_revoked_by_an_admin_of_its_owner_s_tenant(c: Any) -> None:
    made = access.create_token(c, "alma", "dev")
    access.grant(c, ROOT, "bo", "viewer", tenant="team-b")
    with pytest.raises(PermissionDeniedError):
        access.create_token(c, "alma", "bo")
    assert access.revoke_token(c, "alma", made["token_id"])["changed"]
    found = access.authenticate(c, made["token"])
    assert found is None
