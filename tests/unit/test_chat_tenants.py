"""The chat grammar with tenants (issue 19): a model may be named with its tenant
(``team-a/fraud``, ``lifecycle.tenants.QUALIFIED_NAME_PATTERN``); ``default/iris`` is ``iris``;
the flat form and malformed tenants are not model names."""

from __future__ import annotations

import pytest

from agents.commands import Command, Deploy, History, Promote, Rollback, Status
from agents.entrypoints.chat.chat_parser import Clarification, parse
from lifecycle.stages import ModelStage
from lifecycle.strategies import StrategyName

SENTENCES: dict[str, Command] = {
    "deploy team-a/fraud v2 as canary 10%": Deploy(
        model_name="team-a/fraud", version="2", strategy=StrategyName.CANARY, traffic=10.0
    ),
    "status team-a/fraud": Status(model_name="team-a/fraud"),
    "please show the status of team-b/fraud": Status(model_name="team-b/fraud"),
    "promote team-a/fraud v3 to staging": Promote(
        model_name="team-a/fraud", version="3", target_stage=ModelStage.STAGING
    ),
    "roll back team-a/fraud because errors": Rollback(model_name="team-a/fraud", reason="errors"),
    "history of team-a/fraud_detector.v1": History(model_name="team-a/fraud_detector.v1"),
    "status default/iris": Status(model_name="iris"),  # one model, one name
    "status iris": Status(model_name="iris"),
}


@pytest.mark.parametrize(("text", "expected"), SENTENCES.items(), ids=list(SENTENCES))
def test_a_qualified_name_is_read_whole(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "status team-a~fraud",  # the flat form is MLflow's and ids', not a person's
        "status Team-A/fraud",  # a tenant is lower-case
        "status team-a/",
        "status /fraud",
        "status team-a/fraud/2",
        "deploy team-/fraud v2",
    ],
)
def test_what_is_not_a_model_name_is_not_read_as_one(text: str) -> None:
    assert isinstance(parse(text), Clarification)


def test_known_models_are_qualified_names() -> None:
    known = ["iris", "team-a/fraud", "team-b/fraud"]
    assert parse("status team-a/fraud", known) == Status(model_name="team-a/fraud")
    assert parse("status default/iris", known) == Status(model_name="iris")
    asked = parse("status team-c/fraud", known)
    assert isinstance(asked, Clarification) and asked.missing == "model_name"
