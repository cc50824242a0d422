"""Stage moves and deployment status changes, as rules."""

from __future__ import annotations

import pytest

from lifecycle.errors import BadInputError, InvalidPromotionPathError, InvalidStatusChangeError
from lifecycle.stages import (
    ALLOWED_TRANSITIONS,
    DeploymentStatus,
    ModelStage,
    change_status,
    parse_stage,
    transition,
)

S = ModelStage
D = DeploymentStatus

LEGAL_MOVES = {
    "development goes to staging": (S.DEVELOPMENT, S.STAGING),
    "staging goes to shadow": (S.STAGING, S.SHADOW),
    "shadow goes to production": (S.SHADOW, S.PRODUCTION),
    "production is archived": (S.PRODUCTION, S.ARCHIVED),
    "a rollback returns production to development": (S.PRODUCTION, S.DEVELOPMENT),
    "a failed shadow returns to development": (S.SHADOW, S.DEVELOPMENT),
    "a failed staging returns to development": (S.STAGING, S.DEVELOPMENT),
}

ILLEGAL_MOVES = {
    "development cannot skip to production": (S.DEVELOPMENT, S.PRODUCTION),
    "development cannot skip to shadow": (S.DEVELOPMENT, S.SHADOW),
    "staging cannot skip shadow": (S.STAGING, S.PRODUCTION),
    "production cannot go back to shadow": (S.PRODUCTION, S.SHADOW),
    "archived is final": (S.ARCHIVED, S.DEVELOPMENT),
    "archived cannot be revived into production": (S.ARCHIVED, S.PRODUCTION),
    "a stage cannot move to itself": (S.STAGING, S.STAGING),
    "development cannot be archived directly": (S.DEVELOPMENT, S.ARCHIVED),
}


@pytest.mark.parametrize(("current", "target"), LEGAL_MOVES.values(), ids=LEGAL_MOVES.keys())
def test_legal_moves_are_allowed(current: ModelStage, target: ModelStage) -> None:
    assert transition(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL_MOVES.values(), ids=ILLEGAL_MOVES.keys())
def test_illegal_moves_raise_and_name_both_stages(current: ModelStage, target: ModelStage) -> None:
    with pytest.raises(InvalidPromotionPathError) as err:
        transition(current, target)
    assert current.value in str(err.value)
    assert target.value in str(err.value)
    assert err.value.exit_code == 2


def test_every_stage_has_an_entry_in_the_one_transition_table() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(ModelStage)


def test_only_the_legal_moves_exist() -> None:
    table = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert table == set(LEGAL_MOVES.values())


@pytest.mark.parametrize(
    ("text", "stage"),
    [("production", S.PRODUCTION), (" Staging ", S.STAGING), ("SHADOW", S.SHADOW)],
    ids=["lower case", "padded title case", "upper case"],
)
def test_stage_names_are_read_forgivingly(text: str, stage: ModelStage) -> None:
    assert parse_stage(text) is stage


def test_an_unknown_stage_name_is_bad_input_listing_the_known_ones() -> None:
    with pytest.raises(BadInputError, match="expected one of: development"):
        parse_stage("prod-ish")


STATUS_LEGAL = {
    "pending starts deploying": (D.PENDING, D.DEPLOYING),
    "deploying becomes active": (D.DEPLOYING, D.ACTIVE),
    "deploying can fail": (D.DEPLOYING, D.FAILED),
    "active drains": (D.ACTIVE, D.DRAINING),
    "active is rolled back": (D.ACTIVE, D.ROLLED_BACK),
    "a draining deployment is reactivated by a rollback": (D.DRAINING, D.ACTIVE),
    "a draining deployment is finally rolled back": (D.DRAINING, D.ROLLED_BACK),
    "a dead active deployment fails": (D.ACTIVE, D.FAILED),
}

STATUS_ILLEGAL = {
    "pending cannot be active without deploying": (D.PENDING, D.ACTIVE),
    "rolled back is final": (D.ROLLED_BACK, D.ACTIVE),
    "failed is final": (D.FAILED, D.ACTIVE),
    "failed cannot be retried in place": (D.FAILED, D.DEPLOYING),
    "active cannot go back to pending": (D.ACTIVE, D.PENDING),
}


@pytest.mark.parametrize(("current", "target"), STATUS_LEGAL.values(), ids=STATUS_LEGAL.keys())
def test_legal_status_changes_are_allowed(
    current: DeploymentStatus, target: DeploymentStatus
) -> None:
    assert change_status(current, target) is target


@pytest.mark.parametrize(("current", "target"), STATUS_ILLEGAL.values(), ids=STATUS_ILLEGAL.keys())
def test_illegal_status_changes_raise(current: DeploymentStatus, target: DeploymentStatus) -> None:
    with pytest.raises(InvalidStatusChangeError):
        change_status(current, target)
