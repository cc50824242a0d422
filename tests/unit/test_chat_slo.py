"""The chat's objectives words: a set and a show read into typed requests; anything else is
left to the main grammar."""

from __future__ import annotations

import pytest

from agents.commands import SetObjectives, ShowObjectives
from agents.entrypoints.chat.slo_chat import parse

READ = {
    "set the p95 objective of iris to 40 ms": SetObjectives(
        model_name="iris", changes={"p95_ms": 40.0}
    ),
    "Set the P99 of fraud_detector to 120ms.": SetObjectives(
        model_name="fraud_detector", changes={"p99_ms": 120.0}
    ),
    "please set the error rate objective for iris to 1%": SetObjectives(
        model_name="iris", changes={"error_rate": 0.01}
    ),
    "set the latency factor of iris to 2.5": SetObjectives(
        model_name="iris", changes={"latency_factor": 2.5}
    ),
    "what are iris's objectives?": ShowObjectives(model_name="iris"),
    "what are iris\N{RIGHT SINGLE QUOTATION MARK}s SLOs": ShowObjectives(model_name="iris"),
    "show the objectives of churn": ShowObjectives(model_name="churn"),
}


@pytest.mark.parametrize(("text", "request_"), READ.items(), ids=list(READ))
def test_objective_sentences_read_into_typed_requests(text: str, request_: object) -> None:
    assert parse(text) == request_


@pytest.mark.parametrize(
    "text",
    ["status of iris", "set the p95 objective of iris", "rollback iris", "set iris to 40 ms"],
)
def test_other_sentences_are_left_to_the_main_grammar(text: str) -> None:
    assert parse(text) is None
