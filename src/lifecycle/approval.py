"""Who may do what: the ordered roles, and who may approve (four eyes and the approver role)."""

from __future__ import annotations

from collections.abc import Collection
from enum import IntEnum, StrEnum

from lifecycle.errors import BadInputError, PermissionDeniedError


class Role(IntEnum):
    """What a person may do; a higher role includes every lower one. Bindings live in the state
    database and only an admin grants them (``deployer access grant USER ROLE``)."""

    VIEWER = 1  # reads: status, history, deployments, approvals, audit verification
    DEPLOYER = 2  # register, deploy, change traffic, stop, promote, roll back, resume
    APPROVER = 3  # approve or reject someone else's promotion
    ADMIN = 4  # everything, and grants roles and tokens

    @property
    def label(self) -> str:
        """The role as people write it: ``viewer``, ``deployer``, ``approver``, ``admin``."""
        return self.name.lower()


ROLE_NAMES = ", ".join(r.label for r in Role)


def parse_role(text: str) -> Role:
    """``"Deployer "`` -> Role.DEPLOYER; anything else raises BadInputError."""
    try:
        return Role[text.strip().upper()]
    except KeyError:
        raise BadInputError(f"unknown role {text!r}; expected one of: {ROLE_NAMES}") from None


class Decision(StrEnum):
    """What an approver answers."""

    APPROVE = "approve"
    REJECT = "reject"


def parse_decision(value: str) -> Decision:
    """Read ``approve`` / ``reject`` (``approved`` and ``rejected`` too)."""
    text = value.strip().lower()
    if text in ("approve", "approved"):
        return Decision.APPROVE
    if text in ("reject", "rejected"):
        return Decision.REJECT
    raise BadInputError(f"unknown decision {value!r}; answer approve or reject")


def check_approver(approver: str, requested_by: str, approvers: Collection[str]) -> None:
    """Raise PermissionDeniedError unless ``approver`` holds the approver role and is not the
    person who asked (four eyes: nobody approves their own request)."""
    if not approver.strip():
        raise PermissionDeniedError("an approval must name who gives it")
    if approver == requested_by:
        raise PermissionDeniedError(
            f"{approver} requested this change and cannot approve it too (four-eyes rule)"
        )
    if not approvers:
        raise PermissionDeniedError(
            "nobody holds the approver role: an admin grants it with "
            "`deployer access grant USER approver`"
        )
    if approver not in approvers:
        raise PermissionDeniedError(f"{approver} does not hold the approver role")


def check_decider(
    decision: Decision, actor: str, requested_by: str, approvers: Collection[str]
) -> None:
    """Approving needs the approver role and four eyes; rejecting needs the role too, except
    that the requester may always withdraw their own request."""
    if decision is Decision.REJECT and actor == requested_by and actor.strip():
        return
    if decision is Decision.REJECT:
        if actor not in approvers:
            raise PermissionDeniedError(
                f"{actor} does not hold the approver role and did not make this request"
            )
        return
    check_approver(actor, requested_by, approvers)
