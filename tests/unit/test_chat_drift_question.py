"""The chat reads "is NAME drifting?" whole, and nothing else, as a drift question."""

from __future__ import annotations

import pytest

from agents.entrypoints.chat.questions import drift_model, sentence


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("is fraud_detector drifting?", "fraud_detector"),
        ("Is fraud_detector drifting", "fraud_detector"),
        ("please is the model iris drifting ?", "iris"),
        ("is churn-v.2 drifted?", "churn-v.2"),
        ("status of fraud_detector", None),
        ("is fraud_detector drifting? then roll back", None),
        ("rollback fraud_detector because it is drifting", None),
        ("", None),
    ],
)
def test_only_a_whole_drift_question_is_read_as_one(text: str, model: str | None) -> None:
    assert drift_model(text) == model


@pytest.mark.parametrize(
    ("verdict", "start"),
    [
        ("drift", "Yes: iris v2 is drifting"),
        ("no_drift", "No: iris v2"),
        ("inconclusive", "I cannot tell yet"),
    ],
)
def test_the_answer_says_the_verdict_first(verdict: str, start: str) -> None:
    report = {
        "model_name": "iris",
        "version": "2",
        "verdict": verdict,
        "summary": "drift in 1 of 5 columns: petal_length",
        "current_rows": 300,
    }
    assert sentence(report).startswith(start)
