"""Qualified names where names are turned into other things: deployment ids, MLflow's registered
model names, ``name/version`` keys, look-alike judgements (issue 19 item 1)."""

from __future__ import annotations

import pytest

from lifecycle.alerts import alert_for
from lifecycle.errors import AmbiguousModelNameError
from lifecycle.names import check_distinct, make_deployment_id
from lifecycle.records import model_version_id, split_model_version_id
from lifecycle.tenants import same_tenant
from mlops.registry_support import mlflow_name, read_back


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("iris", "iris-v3-abcdef12"),
        ("team-a/fraud", "team-a~fraud-v3-abcdef12"),
    ],
)
def test_a_deployment_id_never_holds_a_slash(model: str, expected: str) -> None:
    assert make_deployment_id(model, "3", "abcdef1234567890") == expected


@pytest.mark.parametrize(
    ("model", "version"),
    [("iris", "3"), ("team-a/fraud", "12"), ("t/a.b-c", "1")],
)
def test_a_version_key_splits_back_at_its_last_slash(model: str, version: str) -> None:
    assert split_model_version_id(model_version_id(model, version)) == (model, version)


@pytest.mark.parametrize("key", ["iris", "team-a/fraud", "team-a/fraud/", "/3", "a/v3"])
def test_a_key_without_a_trailing_version_is_not_split(key: str) -> None:
    assert split_model_version_id(key) is None


def test_an_alert_on_a_tenant_s_version_names_the_qualified_model() -> None:
    alert = alert_for("rolled_back", "team-a/fraud/3", {}, "monitor")
    assert alert is not None
    assert (alert.model, alert.version) == ("team-a/fraud", "3")


@pytest.mark.parametrize(
    ("model", "in_mlflow"),
    [("iris", "iris"), ("team-a/fraud", "team-a~fraud"), ("default/iris", "iris")],
)
def test_mlflow_holds_the_flat_name_and_it_reads_back(model: str, in_mlflow: str) -> None:
    assert mlflow_name(model) == in_mlflow
    assert read_back(in_mlflow) == mlflow_name(model).replace("~", "/")


@pytest.mark.parametrize("odd", ["default~iris", "Team~x", "a~b~c", "t~", "~x"])
def test_an_mlflow_name_that_is_no_flat_name_reads_back_as_itself(odd: str) -> None:
    assert read_back(odd) == odd


def test_look_alike_names_are_judged_within_a_tenant() -> None:
    known = ["fraud", "team-b/fraud", "team-a/churn", "Bad Name"]
    assert same_tenant("team-a/Fraud", known) == ["team-a/churn", "Bad Name"]
    check_distinct("team-a/Fraud", same_tenant("team-a/Fraud", known))  # no clash
    with pytest.raises(AmbiguousModelNameError, match="team-b/fraud"):
        check_distinct("team-b/Fraud", same_tenant("team-b/Fraud", known))
    with pytest.raises(AmbiguousModelNameError, match="'fraud'"):
        check_distinct("FRAUD", same_tenant("FRAUD", known))
