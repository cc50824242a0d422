"""Stages and statuses pinned exactly: the refusals' sentences and the rollback's own move."""

from __future__ import annotations

import pytest

from lifecycle.errors import InvalidPromotionPathError, InvalidStatusChangeError
from lifecycle.stages import (
    DeploymentStatus,
    ModelStage,
    change_status,
    parse_stage,
    restore_for_rollback,
    transition,
)


def test_an_illegal_move_names_both_stages_and_where_the_version_may_go() -> None:
    with pytest.raises(InvalidPromotionPathError) as raised:
        transition(ModelStage.STAGING, ModelStage.PRODUCTION)
    assert str(raised.value) == (
        "cannot move a version from staging to production; "
        "from staging it may go to: development, shadow"
    )


def test_an_archived_version_may_go_nowhere_and_is_told_so() -> None:
    with pytest.raises(InvalidPromotionPathError) as raised:
        transition(ModelStage.ARCHIVED, ModelStage.PRODUCTION)
    assert str(raised.value) == (
        "cannot move a version from archived to production; from archived it may go to: nothing"
    )


def test_an_unknown_stage_lists_the_stages() -> None:
    with pytest.raises(InvalidPromotionPathError) as raised:
        parse_stage("prod")
    assert str(raised.value) == (
        "unknown stage 'prod'; expected one of: development, staging, shadow, production, archived"
    )


@pytest.mark.parametrize("stage", [ModelStage.PRODUCTION, ModelStage.ARCHIVED])
def test_a_rollback_restores_a_production_or_archived_version_to_production(
    stage: ModelStage,
) -> None:
    assert restore_for_rollback(stage) is ModelStage.PRODUCTION


@pytest.mark.parametrize("stage", [ModelStage.DEVELOPMENT, ModelStage.STAGING, ModelStage.SHADOW])
def test_a_rollback_cannot_restore_a_version_that_never_served(stage: ModelStage) -> None:
    with pytest.raises(InvalidPromotionPathError) as raised:
        restore_for_rollback(stage)
    assert str(raised.value) == (
        f"a rollback cannot restore a version in {stage.value}; only a production or "
        "archived version can serve again"
    )


def test_an_illegal_status_change_names_both_statuses() -> None:
    with pytest.raises(InvalidStatusChangeError) as raised:
        change_status(DeploymentStatus.FAILED, DeploymentStatus.ACTIVE)
    assert str(raised.value) == "a deployment cannot go from failed to active"
    assert (
        change_status(DeploymentStatus.DRAINING, DeploymentStatus.ACTIVE) is DeploymentStatus.ACTIVE
    )
