"""The chat's retraining request is read as ``deployer retrain NAME --reason ...``."""

from __future__ import annotations

import pytest

from agents.entrypoints.chat.retrain_chat import retrain_request


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("retrain iris", ("iris", "")),
        ("Retrain iris.", ("iris", "")),
        ("please retrain the iris model", ("iris", "")),
        ("retrain model fraud_v2 because labels changed", ("fraud_v2", "labels changed")),
        ("retrain iris: petal length drifted", ("iris", "petal length drifted")),
        ("retrain iris --reason weekly", ("iris", "weekly")),
    ],
)
def test_a_retraining_request_names_the_model_and_why(text: str, asked: tuple[str, str]) -> None:
    assert retrain_request(text) == asked


@pytest.mark.parametrize(
    "text", ["retrain", "promote iris 2 to staging", "is iris drifting?", "retrain 9lives", ""]
)
def test_anything_else_is_not_a_retraining_request(text: str) -> None:
    assert retrain_request(text) is None
