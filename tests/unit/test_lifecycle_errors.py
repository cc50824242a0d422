"""Errors carry what the CLI and API show: the message, the exit code and their extras."""

from __future__ import annotations

from lifecycle.errors import (
    ApprovalMismatchError,
    AwaitingApprovalError,
    BadInputError,
    ConflictError,
    EndpointCreationError,
    ModelDeployerError,
    ProductionCriteriaNotMetError,
)


def test_an_error_is_its_message() -> None:
    error = BadInputError("no such model")
    assert (error.message, str(error), error.args) == (
        "no such model",
        "no such model",
        ("no such model",),
    )
    assert (error.exit_code, error.retryable) == (2, False)
    assert ModelDeployerError("x").exit_code == 1


def test_an_awaiting_approval_error_names_the_approval() -> None:
    error = AwaitingApprovalError("waiting for ana", "appr-1")
    assert (str(error), error.approval_id, error.exit_code) == ("waiting for ana", "appr-1", 4)


def test_an_endpoint_that_did_not_start_keeps_its_log_tail() -> None:
    error = EndpointCreationError("not ready", ("line 1", "line 2"))
    assert (str(error), error.log_tail, error.retryable) == (
        "not ready",
        ["line 1", "line 2"],
        True,
    )
    assert EndpointCreationError("not ready").log_tail == []


def test_unmet_criteria_are_listed() -> None:
    error = ProductionCriteriaNotMetError("refused", ("a", "b"))
    assert (str(error), error.unmet, error.exit_code) == ("refused", ["a", "b"], 3)
    assert ProductionCriteriaNotMetError("refused").unmet == []


def test_an_answer_to_another_approval_is_a_refusal_that_trying_again_does_not_help() -> None:
    error = ApprovalMismatchError("the answer is for apr-1, but this run waits on apr-2")
    assert isinstance(error, ConflictError)
    assert (error.exit_code, error.retryable) == (3, False)
    assert ConflictError("x").retryable is True
