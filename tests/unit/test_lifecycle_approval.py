"""Who may approve or reject a promotion: the approver role and four eyes, with exact refusals."""

from __future__ import annotations

import pytest

from lifecycle.approval import (
    ROLE_NAMES,
    Decision,
    Role,
    check_approver,
    check_decider,
    parse_decision,
    parse_role,
)
from lifecycle.errors import BadInputError, PermissionDeniedError

APPROVERS = frozenset({"ana", "bo"})


@pytest.mark.parametrize(
    ("text", "decision"),
    [
        ("approve", Decision.APPROVE),
        (" Approved ", Decision.APPROVE),
        ("REJECT", Decision.REJECT),
        ("rejected", Decision.REJECT),
    ],
)
def test_a_decision_is_read_as_a_person_writes_it(text: str, decision: Decision) -> None:
    assert parse_decision(text) is decision


@pytest.mark.parametrize("text", ["", "yes", "approves", "re ject"])
def test_anything_else_is_not_a_decision(text: str) -> None:
    with pytest.raises(BadInputError) as raised:
        parse_decision(text)
    assert str(raised.value) == f"unknown decision {text!r}; answer approve or reject"


REFUSED_APPROVALS = {
    "nobody named": ("", "cy", APPROVERS, "an approval must name who gives it"),
    "only blanks named": ("  ", "cy", APPROVERS, "an approval must name who gives it"),
    "the requester": (
        "ana",
        "ana",
        APPROVERS,
        "ana requested this change and cannot approve it too (four-eyes rule)",
    ),
    "nobody holds the role": (
        "ana",
        "cy",
        frozenset(),
        "nobody holds the approver role: an admin grants it with "
        "`deployer access grant USER approver`",
    ),
    "someone without the role": ("dee", "cy", APPROVERS, "dee does not hold the approver role"),
}


@pytest.mark.parametrize(
    ("approver", "requester", "approvers", "message"),
    REFUSED_APPROVALS.values(),
    ids=REFUSED_APPROVALS.keys(),
)
def test_an_approval_is_refused_with_the_reason(
    approver: str, requester: str, approvers: frozenset[str], message: str
) -> None:
    with pytest.raises(PermissionDeniedError) as raised:
        check_approver(approver, requester, approvers)
    assert str(raised.value) == message


def test_an_approver_who_did_not_ask_may_approve() -> None:
    check_approver("bo", "cy", APPROVERS)
    check_decider(Decision.APPROVE, "bo", "cy", APPROVERS)


def test_approving_through_the_decider_keeps_four_eyes() -> None:
    with pytest.raises(PermissionDeniedError, match="four-eyes"):
        check_decider(Decision.APPROVE, "ana", "ana", APPROVERS)


def test_the_requester_may_withdraw_their_own_request_without_the_role() -> None:
    check_decider(Decision.REJECT, "cy", "cy", APPROVERS)


def test_an_approver_may_reject_someone_elses_request() -> None:
    check_decider(Decision.REJECT, "ana", "cy", APPROVERS)


def test_a_stranger_may_not_reject() -> None:
    with pytest.raises(PermissionDeniedError) as raised:
        check_decider(Decision.REJECT, "dee", "cy", APPROVERS)
    assert str(raised.value) == "dee does not hold the approver role and did not make this request"


def test_a_blank_name_does_not_withdraw_a_blank_requesters_request() -> None:
    with pytest.raises(PermissionDeniedError) as raised:
        check_decider(Decision.REJECT, " ", " ", APPROVERS)
    assert str(raised.value) == "  does not hold the approver role and did not make this request"


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("viewer", Role.VIEWER),
        ("Deployer", Role.DEPLOYER),
        (" approver ", Role.APPROVER),
        ("ADMIN", Role.ADMIN),
    ],
)
def test_a_role_is_read_as_a_person_writes_it(text: str, role: Role) -> None:
    assert parse_role(text) is role
    assert role.label == text.strip().lower()


@pytest.mark.parametrize("text", ["", "root", "admins", "view er"])
def test_anything_else_is_not_a_role(text: str) -> None:
    with pytest.raises(BadInputError) as raised:
        parse_role(text)
    assert str(raised.value) == (
        f"unknown role {text!r}; expected one of: viewer, deployer, approver, admin"
    )


def test_roles_are_ordered_each_including_the_ones_below() -> None:
    assert [r.label for r in sorted(Role)] == ["viewer", "deployer", "approver", "admin"]
    assert [int(r) for r in Role] == [1, 2, 3, 4]
    assert ROLE_NAMES == "viewer, deployer, approver, admin"
