"""The chat's words for a deploy's resources (issue 17): a table, as the parser's own tests."""

from __future__ import annotations

from typing import Any

import pytest

from agents.chat_parser import Clarification, parse
from agents.commands import Deploy


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        (
            "deploy fraud v3 with 2 replicas, 0.5 cpu, 512Mi",
            {"replicas": 2, "cpu": "0.5", "memory": "512Mi"},
        ),
        ("deploy fraud 3 with 500m cpu and 1Gi memory", {"cpu": "500m", "memory": "1Gi"}),
        (
            "ship fraud v3 --replicas 4 --cpu 2 --memory 256M",
            {"replicas": 4, "cpu": "2"} | {"memory": "256M"},
        ),
        ("deploy fraud v3 as canary at 5% with autoscale 1:4:3", {"autoscale": "1:4:3"}),
        ("deploy fraud v3 with memory 2Gi and 3 workers", {"memory": "2Gi", "replicas": 3}),
        ("deploy fraud v3", {}),
    ],
)
def test_a_deploy_reads_its_resources_in_any_order(text: str, asked: dict[str, Any]) -> None:
    read = parse(text)
    assert isinstance(read, Deploy), read
    assert (read.model_name, read.version) == ("fraud", "3")
    defaults = {"replicas": 1, "cpu": None, "memory": None, "autoscale": None}
    assert {k: getattr(read, k) for k in defaults} == defaults | asked


@pytest.mark.parametrize(
    "text",
    [
        "deploy fraud v3 with 2 replicas and 3 replicas",  # two answers: which one?
        "deploy fraud v3 with lots of cpu",  # not a figure: not understood
        "promote fraud v3 to staging with 2 replicas",  # only a deploy takes resources
    ],
)
def test_resources_the_chat_cannot_read_get_a_question_back(text: str) -> None:
    assert isinstance(parse(text), Clarification)


def test_a_figure_of_the_right_shape_is_judged_when_carried_out_not_read_here() -> None:
    read = parse("deploy fraud v3 with 0 cpu and autoscale 4:1")
    assert isinstance(read, Deploy) and (read.cpu, read.autoscale) == ("0", "4:1")
