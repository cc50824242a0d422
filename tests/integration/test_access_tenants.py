"""Per-tenant role bindings and tenants in the state database (migration 0020), on SQLite and
PostgreSQL: a role counts in its tenant and a platform role in every tenant; bindings made
without a scope keep their meaning from before tenants; a tenant is made once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from database.access import AccessRepository
from database.migrate import alembic_config
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.approval import Role
from lifecycle.tenants import DEFAULT_TENANT, PLATFORM, Grants
from tests.schema_template import migrated


@pytest.fixture
def access(database_url: str) -> Iterator[AccessRepository]:
    migrated(database_url)
    engine = create_engine(database_url)
    session = sessionmaker(engine)()
    repo = AccessRepository(session)
    repo.grant("root", Role.ADMIN, "root")  # no scope: an admin is the platform's
    repo.grant("ann", Role.VIEWER, "root")  # no scope: the default tenant
    repo.add_tenant("team-a", "root")
    repo.add_tenant("team-b", "root")
    repo.grant("ann", Role.DEPLOYER, "root", "team-a")
    repo.grant("bob", Role.APPROVER, "root", "team-b")
    repo.grant("bob", Role.VIEWER, "root", "team-b")
    yield repo
    session.close()
    engine.dispose()


def test_a_role_counts_in_its_tenant_and_a_platform_role_everywhere(
    access: AccessRepository,
) -> None:
    assert access.grants_of("ann") == Grants(
        "ann", {DEFAULT_TENANT: Role.VIEWER, "team-a": Role.DEPLOYER}
    )
    assert access.grants_of("root").is_platform_admin
    assert access.highest_role("ann") is Role.VIEWER
    assert access.highest_role("ann", "team-a") is Role.DEPLOYER
    assert access.highest_role("ann", "team-b") is None
    assert access.highest_role("bob", "team-b") is Role.APPROVER
    assert access.roles_of("bob", "team-b") == {Role.APPROVER, Role.VIEWER}
    assert access.roles_of("root", "team-b") == {Role.ADMIN}
    assert access.holders(Role.APPROVER, "team-b") == {"bob", "root"}
    assert access.holders(Role.APPROVER, "team-a") == {"root"}
    assert access.holders(Role.VIEWER) == {"ann", "root"}


def test_a_binding_is_made_once_per_tenant_and_revoked_only_there(
    access: AccessRepository,
) -> None:
    assert not access.grant("ann", Role.DEPLOYER, "root", "team-a")
    assert access.grant("ann", Role.DEPLOYER, "root", "team-b")
    assert access.revoke("ann", Role.DEPLOYER, "team-b")
    assert not access.revoke("ann", Role.DEPLOYER, "team-b")
    assert access.highest_role("ann", "team-a") is Role.DEPLOYER
    assert not access.revoke("root", Role.ADMIN, DEFAULT_TENANT)
    assert access.revoke("root", Role.ADMIN)  # no scope: the platform's, as granted
    assert access.grants_of("root") == Grants("root", {})
    assert access.revoke_tenant("team-b") == 2
    assert access.grants_of("bob") == Grants("bob", {})


def test_tenants_are_made_once_and_listed_by_name(access: AccessRepository) -> None:
    assert [t.name for t in access.tenants()] == [DEFAULT_TENANT, "team-a", "team-b"]
    assert not access.add_tenant("team-a", "ann")
    assert access.tenant("team-a") is not None
    assert access.remove_tenant("team-a")
    assert not access.remove_tenant("team-a")
    assert access.tenant("team-a") is None


def test_the_upgrade_makes_old_admins_platform_admins_and_other_roles_default(
    database_url: str,
) -> None:
    migrated(database_url)
    config = alembic_config(database_url)
    command.downgrade(config, "0019")
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO access_bindings (user_name, role, granted_by, granted_at) VALUES "
                "('root', 'admin', 'root', CURRENT_TIMESTAMP), "
                "('ann', 'approver', 'root', CURRENT_TIMESTAMP)"
            )
        )
    command.upgrade(config, "head")
    with SqlAlchemyUnitOfWork(sessionmaker(engine)) as uow:
        assert uow.access.grants_of("root").roles == {PLATFORM: Role.ADMIN}
        assert uow.access.grants_of("ann").roles == {DEFAULT_TENANT: Role.APPROVER}
        assert [t.name for t in uow.access.tenants()] == [DEFAULT_TENANT]
    engine.dispose()
