"""Tenants: qualified and flat names, and per-tenant grants (``lifecycle.tenants``)."""

from __future__ import annotations

import pytest

from lifecycle.approval import Role
from lifecycle.errors import BadInputError, PermissionDeniedError
from lifecycle.tenants import (
    DEFAULT_TENANT,
    PLATFORM,
    Grants,
    ModelRef,
    check_tenant,
    flat_name,
    from_flat_name,
    is_qualified_name,
    normalise_model_name,
    parse_model_name,
    qualify,
    tenant_of,
)


@pytest.mark.parametrize(
    ("text", "tenant", "name", "qualified", "flat"),
    [
        ("iris", DEFAULT_TENANT, "iris", "iris", "iris"),
        ("default/iris", DEFAULT_TENANT, "iris", "iris", "iris"),
        ("team-a/fraud", "team-a", "fraud", "team-a/fraud", "team-a~fraud"),
        ("team-b/fraud", "team-b", "fraud", "team-b/fraud", "team-b~fraud"),
        ("t/Churn_v2.1", "t", "Churn_v2.1", "t/Churn_v2.1", "t~Churn_v2.1"),
        ("a1-b2/x", "a1-b2", "x", "a1-b2/x", "a1-b2~x"),
    ],
)
def test_a_name_reads_as_its_tenant_and_name_in_both_forms(
    text: str, tenant: str, name: str, qualified: str, flat: str
) -> None:
    ref = parse_model_name(text)
    assert is_qualified_name(text)
    assert ref == ModelRef(tenant, name)
    assert (ref.qualified, ref.flat) == (qualified, flat)
    assert normalise_model_name(text) == qualified
    assert tenant_of(text) == tenant
    assert flat_name(text) == flat
    assert from_flat_name(flat) == qualified
    assert qualify(tenant, name) == qualified


@pytest.mark.parametrize(
    "text",
    [
        "",
        "/iris",
        "team-a/",
        "Team-A/fraud",  # tenants are lower case
        "team-/fraud",  # not ending in '-'
        "-team/fraud",
        "a/b/c",
        "team a/fraud",
        "team-a/1fraud",  # the model name starts with a letter
        "team-a~fraud",  # the flat form is not a qualified name
        "iris\n",
        "t" * 33 + "/x",
        "team-a/" + "m" * 101,
    ],
)
def test_a_name_that_is_not_tenant_slash_name_is_refused(text: str) -> None:
    assert not is_qualified_name(text)
    with pytest.raises(BadInputError):
        parse_model_name(text)


def test_a_refused_name_says_the_rule() -> None:
    with pytest.raises(BadInputError) as refused:
        parse_model_name("a/b/c")
    assert str(refused.value) == (
        "invalid model name 'a/b/c': [TENANT/]NAME, where NAME starts with a letter, then "
        "letters, digits, '_', '.', '-' (at most 100), and TENANT is lower-case letters, "
        "digits and '-'"
    )


@pytest.mark.parametrize("flat", ["a~b~c", "Team~x", "~x", "x~"])
def test_a_flat_name_that_reads_back_to_nothing_is_refused(flat: str) -> None:
    with pytest.raises(BadInputError):
        from_flat_name(flat)


@pytest.mark.parametrize("name", ["a", "team-a", "t" * 32, "a1"])
def test_valid_tenant_names(name: str) -> None:
    assert check_tenant(name) == name


@pytest.mark.parametrize("name", ["", "A", "1a", "a-", "a_b", "a.b", "t" * 33, "*", "a/b", "a~b"])
def test_invalid_tenant_names(name: str) -> None:
    with pytest.raises(BadInputError):
        check_tenant(name)


A_VIEWER = Grants.of("ann", [("team-a", Role.VIEWER)])
A_DEPLOYER_B_VIEWER = Grants.of("bob", [("team-a", Role.DEPLOYER), ("team-b", Role.VIEWER)])
PLATFORM_ADMIN = Grants.of("root", [(PLATFORM, Role.ADMIN)])
PLATFORM_VIEWER_A_APPROVER = Grants.of("eve", [(PLATFORM, Role.VIEWER), ("team-a", Role.APPROVER)])
NOBODY = Grants("zed")


@pytest.mark.parametrize(
    ("grants", "tenant", "role"),
    [
        (A_VIEWER, "team-a", Role.VIEWER),
        (A_VIEWER, "team-b", None),
        (A_VIEWER, DEFAULT_TENANT, None),
        (A_DEPLOYER_B_VIEWER, "team-a", Role.DEPLOYER),
        (A_DEPLOYER_B_VIEWER, "team-b", Role.VIEWER),
        (PLATFORM_ADMIN, "team-z", Role.ADMIN),
        (PLATFORM_ADMIN, DEFAULT_TENANT, Role.ADMIN),
        (PLATFORM_VIEWER_A_APPROVER, "team-a", Role.APPROVER),
        (PLATFORM_VIEWER_A_APPROVER, "team-b", Role.VIEWER),
        (NOBODY, "team-a", None),
    ],
)
def test_the_role_in_a_tenant_is_the_higher_of_the_tenant_and_the_platform(
    grants: Grants, tenant: str, role: Role | None
) -> None:
    assert grants.role_in(tenant) is role


def test_the_highest_binding_per_scope_counts() -> None:
    grants = Grants.of("x", [("t", Role.APPROVER), ("t", Role.VIEWER), ("u", Role.VIEWER)])
    assert dict(grants.roles) == {"t": Role.APPROVER, "u": Role.VIEWER}


@pytest.mark.parametrize(
    ("grants", "needed", "model", "allowed"),
    [
        (A_VIEWER, Role.VIEWER, "team-a/fraud", True),
        (A_VIEWER, Role.DEPLOYER, "team-a/fraud", False),
        (A_VIEWER, Role.VIEWER, "team-b/fraud", False),
        (A_VIEWER, Role.VIEWER, "iris", False),
        (A_DEPLOYER_B_VIEWER, Role.DEPLOYER, "team-a/fraud", True),
        (A_DEPLOYER_B_VIEWER, Role.DEPLOYER, "team-b/fraud", False),
        (A_DEPLOYER_B_VIEWER, Role.APPROVER, "team-a/fraud", False),
        (PLATFORM_ADMIN, Role.ADMIN, "team-b/fraud", True),
        (PLATFORM_ADMIN, Role.APPROVER, "iris", True),
        (NOBODY, Role.VIEWER, "iris", False),
    ],
)
def test_check_allows_only_the_role_in_the_model_s_tenant(
    grants: Grants, needed: Role, model: str, allowed: bool
) -> None:
    assert grants.may(needed, tenant_of(model)) is allowed
    assert grants.sees(model) is grants.may(Role.VIEWER, tenant_of(model))
    if allowed:
        grants.check(needed, model, "this")
    else:
        with pytest.raises(PermissionDeniedError, match=rf"tenant '{tenant_of(model)}'"):
            grants.check(needed, model, "this")


def test_a_refusal_says_the_role_held_and_needed_but_not_whether_the_model_exists() -> None:
    with pytest.raises(PermissionDeniedError) as refused:
        A_DEPLOYER_B_VIEWER.check(Role.DEPLOYER, "team-b/fraud", "deploying")
    assert str(refused.value) == (
        "bob holds the viewer role in tenant 'team-b'; deploying needs deployer or above there"
    )
    with pytest.raises(PermissionDeniedError, match="zed holds no role in tenant 'team-a'"):
        NOBODY.check(Role.VIEWER, "team-a/x", "reading")


@pytest.mark.parametrize(
    ("grants", "needed", "some", "tenants"),
    [
        (A_VIEWER, Role.VIEWER, True, {"team-a"}),
        (A_VIEWER, Role.DEPLOYER, False, set()),
        (A_DEPLOYER_B_VIEWER, Role.VIEWER, True, {"team-a", "team-b"}),
        (A_DEPLOYER_B_VIEWER, Role.DEPLOYER, True, {"team-a"}),
        (PLATFORM_ADMIN, Role.ADMIN, True, {"team-a", "team-b", DEFAULT_TENANT}),
        (PLATFORM_VIEWER_A_APPROVER, Role.APPROVER, True, {"team-a"}),
        (NOBODY, Role.VIEWER, False, set()),
    ],
)
def test_the_tenants_a_person_acts_in(
    grants: Grants, needed: Role, some: bool, tenants: set[str]
) -> None:
    assert grants.may_somewhere(needed) is some
    assert grants.tenants(needed, ["team-a", "team-b", DEFAULT_TENANT]) == tenants


def test_only_an_admin_bound_on_the_platform_is_a_platform_admin() -> None:
    assert PLATFORM_ADMIN.is_platform_admin
    assert not Grants.of("a", [("team-a", Role.ADMIN)]).is_platform_admin
    assert not PLATFORM_VIEWER_A_APPROVER.is_platform_admin


def test_a_list_is_cut_to_the_models_the_reader_may_see_in_order() -> None:
    rows = [{"m": "team-b/x"}, {"m": "team-a/x"}, {"m": "iris"}, {"m": "team-a/y"}]
    assert A_VIEWER.visible(rows, lambda r: r["m"]) == [{"m": "team-a/x"}, {"m": "team-a/y"}]
    assert PLATFORM_ADMIN.visible(rows, lambda r: r["m"]) == rows
    assert NOBODY.visible(rows, lambda r: r["m"]) == []
