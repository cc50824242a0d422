"""Which model a gateway path names (``mlops.gateway.paths.model_of``): the bare route serves
only the default tenant's models, the tenant route a tenant's; the answers are kept by path
parts, so each is asked twice here (the second from the kept answers), and the kept answers
stay bounded whatever names clients invent."""

from __future__ import annotations

import pytest

from mlops.gateway import paths
from mlops.gateway.paths import model_of


@pytest.mark.parametrize(
    ("parts", "model"),
    [
        ({"name": "iris"}, "iris"),
        ({"tenant": "default", "name": "iris"}, "iris"),
        ({"tenant": "team-a", "name": "fraud"}, "team-a/fraud"),
        ({"name": "team-a/fraud"}, None),  # an encoded '/' never reaches a tenant's model
        ({"name": "default/iris"}, None),
        ({"tenant": "team-a", "name": "x/fraud"}, None),
        ({"tenant": "Team-A", "name": "fraud"}, None),
        ({"name": "9lives"}, None),
        ({"name": ""}, None),
    ],
)
def test_the_model_a_path_names(parts: dict[str, str], model: str | None) -> None:
    assert model_of(parts) == model
    assert model_of(parts) == model  # kept: the same answer


def test_the_kept_answers_are_bounded() -> None:
    for index in range(paths._NAMED_MOST + 10):
        assert model_of({"name": f"model-{index}"}) == f"model-{index}"
    assert len(paths._NAMED) <= paths._NAMED_MOST
    assert model_of({"tenant": "team-a", "name": "fraud"}) == "team-a/fraud"
