"""The values of ``deployer k8s render`` (``lifecycle.k8s_values``): a file is laid over the
defaults key by key, an unknown key or a value of another type is refused with one line naming
the key, and what types cannot say (counts in order, sizes, names) is judged before rendering."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lifecycle.k8s_values import InvalidValuesError, check_values, merge_values

DEFAULTS: dict[str, Any] = {
    "name": "d",
    "count": 2,
    "ratio": 0.5,
    "on": True,
    "box": {"cpu": "1", "memory": "1Gi"},
    "free": {},
}


@pytest.mark.parametrize(
    ("given", "merged"),
    [
        (None, DEFAULTS),
        ({}, DEFAULTS),
        ({"count": 5}, {**DEFAULTS, "count": 5}),
        ({"ratio": 1}, {**DEFAULTS, "ratio": 1}),  # a whole number where a number is asked
        ({"box": {"cpu": "2"}}, {**DEFAULTS, "box": {"cpu": "2", "memory": "1Gi"}}),
        ({"free": {"ANY": "x"}}, {**DEFAULTS, "free": {"ANY": "x"}}),
        ({"on": False, "name": "e"}, {**DEFAULTS, "on": False, "name": "e"}),
    ],
)
def test_given_values_are_laid_over_the_defaults_key_by_key(given: Any, merged: Any) -> None:
    before = copy.deepcopy(DEFAULTS)
    assert merge_values(DEFAULTS, given) == merged
    assert before == DEFAULTS  # the defaults are not changed


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("text", "values must be a mapping, not a string"),
        ({"cuont": 1}, "unknown values key cuont"),
        ({"box": {"gpu": "1"}}, "unknown values key box.gpu"),
        ({"count": "2"}, "values key count must be a number, not a string"),
        ({"count": True}, "values key count must be a number, not a boolean"),
        ({"on": 1}, "values key on must be a boolean, not a number"),
        ({"box": "big"}, "values.box must be a mapping, not a string"),
        ({"free": ["x"]}, "values key free must be a mapping, not a list"),
        ({"name": None}, "values key name must be a string, not null"),
    ],
)
def test_an_unknown_key_or_a_value_of_another_type_is_refused(given: Any, says: str) -> None:
    with pytest.raises(InvalidValuesError, match=says):
        merge_values(DEFAULTS, given)


def box() -> dict[str, Any]:
    return {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def good() -> dict[str, Any]:
    return {
        "namespace": "ml",
        "name": "deployer",
        "settings": {"serving": "ray"},
        "gateway": {
            "port": 8080,
            "replicas": 3,
            "minReplicas": 3,
            "maxReplicas": 5,
            "minAvailable": 2,
            "targetCpuPercent": 70,
            "resources": box(),
        },
        "api": {"port": 8000, "replicas": 1, "resources": box()},
        "watcher": {
            "replicas": 1,
            "intervalSeconds": 10.0,
            "livenessMaxAgeSeconds": 300.0,
            "resources": box(),
        },
        "ray": {
            "enabled": True,
            "head": {"resources": box()},
            "workers": {"replicas": 1, "minReplicas": 1, "maxReplicas": 2, "resources": box()},
        },
    }


def test_good_values_pass() -> None:
    check_values(good())


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda v: v.update(namespace="ML"), "namespace must be a DNS label"),
        (lambda v: v.update(name="a" * 41), "name must be a DNS label"),
        (lambda v: v["settings"].update(serving="k8s"), "settings.serving must be local or ray"),
        (lambda v: v["ray"].update(enabled=False), "serving is ray but ray.enabled is false"),
        (lambda v: v["gateway"].update(port=70000), "gateway.port must be a port"),
        (lambda v: v["api"].update(port=0), "api.port must be a whole number >= 1"),
        (lambda v: v["gateway"].update(minReplicas=6), "minReplicas must not exceed"),
        (lambda v: v["gateway"].update(minAvailable=3), "minAvailable must be below"),
        (lambda v: v["gateway"].update(targetCpuPercent=120), "between 1 and 100"),
        (lambda v: v["watcher"].update(replicas=0), "watcher.replicas must be a whole number"),
        (lambda v: v["ray"]["workers"].update(replicas=3), "must lie between"),
        (lambda v: v["watcher"].update(intervalSeconds=0.0), "must be > 0"),
        (lambda v: v["watcher"].update(livenessMaxAgeSeconds=20.0), "at least 3 intervals"),
        (
            lambda v: v["api"]["resources"]["limits"].update(memory="1 GB"),
            "api.resources.limits.memory",
        ),
        (
            lambda v: v["ray"]["head"]["resources"]["requests"].update(cpu="-1"),
            "ray.head.resources.requests.cpu",
        ),
    ],
)
def test_values_that_cannot_run_are_refused_naming_the_key(change: Any, says: str) -> None:
    values = copy.deepcopy(good())
    change(values)
    with pytest.raises(InvalidValuesError, match=says):
        check_values(values)
