"""The values of ``deployer k8s render`` (``lifecycle.k8s_values``): a file is laid over the
defaults key by key, an unknown key or a value of another type is refused with one line naming
the key, and what types cannot say (counts in order, sizes, names) is judged before rendering.
Messages are compared whole."""

from __future__ import annotations

import copy
from datetime import date
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
        ({"box": {}}, DEFAULTS),
        ({"free": {"ANY": "x"}}, {**DEFAULTS, "free": {"ANY": "x"}}),
        ({"on": False, "name": "e"}, {**DEFAULTS, "on": False, "name": "e"}),
    ],
)
def test_given_values_are_laid_over_the_defaults_key_by_key(given: Any, merged: Any) -> None:
    before = copy.deepcopy(DEFAULTS)
    assert merge_values(DEFAULTS, given) == merged
    assert before == DEFAULTS  # the defaults are not changed


KNOWN = "known here: box, count, free, name, on, ratio"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("text", "values must be a mapping, not a string"),
        ({"cuont": 1}, f"unknown values key cuont ({KNOWN})"),
        ({1: 1}, f"unknown values key 1 ({KNOWN})"),
        ({"box": {"gpu": "1"}}, "unknown values key box.gpu (known here: cpu, memory)"),
        ({"count": "2"}, "values key count must be a number, not a string"),
        ({"count": True}, "values key count must be a number, not a boolean"),
        ({"ratio": True}, "values key ratio must be a number, not a boolean"),
        ({"ratio": "0.5"}, "values key ratio must be a number, not a string"),
        ({"on": 1}, "values key on must be a boolean, not a number"),
        ({"box": "big"}, "values key box must be a mapping, not a string"),
        ({"box": None}, "values key box must be a mapping, not null"),
        ({"box": {"cpu": 2}}, "values key box.cpu must be a string, not a number"),
        ({"free": ["x"]}, "values key free must be a mapping, not a list"),
        ({"name": None}, "values key name must be a string, not null"),
        ({"name": date(2026, 11, 30)}, "values key name must be a string, not date"),
    ],
)
def test_an_unknown_key_or_a_value_of_another_type_is_refused(given: Any, says: str) -> None:
    with pytest.raises(InvalidValuesError) as caught:
        merge_values(DEFAULTS, given)
    assert str(caught.value) == says


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


def setting(path: str, value: Any) -> Any:
    def change(values: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = values
        for part in parents:
            node = node[part]
        node[last] = value

    return change


@pytest.mark.parametrize(
    "change",
    [
        lambda v: None,
        setting("namespace", "a" * 40),
        setting("name", "a-1"),
        setting("settings.serving", "local"),
        lambda v: (setting("settings.serving", "local")(v), setting("ray.enabled", False)(v)),
        setting("gateway.port", 1),
        setting("api.port", 65535),
        setting("gateway.maxReplicas", 3),  # min == max
        setting("gateway.minAvailable", 0),
        setting("gateway.targetCpuPercent", 1),
        setting("gateway.targetCpuPercent", 100),
        setting("ray.workers.replicas", 2),  # == max
        lambda v: v["ray"]["workers"].update(replicas=0, minReplicas=0, maxReplicas=0),
        setting("watcher.intervalSeconds", 0.5),
        setting("watcher.livenessMaxAgeSeconds", 30.0),  # exactly 3 intervals
        setting("api.resources", {"requests": {"cpu": "1", "ephemeral-storage": "1Gi"}}),
    ],
)
def test_values_that_can_run_pass(change: Any) -> None:
    values = good()
    change(values)
    check_values(values)


DNS = "must be a DNS label of at most 40 characters (lower-case letters, digits, '-')"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (setting("namespace", "ML"), f"values key namespace {DNS}, not 'ML'"),
        (setting("name", "a" * 41), f"values key name {DNS}, not '{'a' * 41}'"),
        (setting("name", "-a"), f"values key name {DNS}, not '-a'"),
        (setting("settings.serving", "k8s"), "settings.serving must be local or ray, not 'k8s'"),
        (setting("ray.enabled", False), "settings.serving is ray but ray.enabled is false"),
        (
            setting("gateway.port", 0),
            "values key gateway.port must be a whole number from 1 to 65535, not 0",
        ),
        (
            setting("api.port", 65536),
            "values key api.port must be a whole number from 1 to 65535, not 65536",
        ),
        (
            setting("gateway.replicas", 2.5),
            "values key gateway.replicas must be a whole number from 1, not 2.5",
        ),
        (
            setting("api.replicas", True),
            "values key api.replicas must be a whole number from 1, not True",
        ),
        (
            setting("watcher.replicas", 0),
            "values key watcher.replicas must be a whole number from 1, not 0",
        ),
        (
            setting("gateway.minReplicas", 0),
            "values key gateway.minReplicas must be a whole number from 1, not 0",
        ),
        (
            setting("gateway.maxReplicas", 0),
            "values key gateway.maxReplicas must be a whole number from 1, not 0",
        ),
        (
            setting("gateway.minAvailable", -1),
            "values key gateway.minAvailable must be a whole number from 0, not -1",
        ),
        (
            setting("gateway.targetCpuPercent", 0),
            "values key gateway.targetCpuPercent must be a whole number from 1 to 100, not 0",
        ),
        (
            setting("gateway.targetCpuPercent", 101),
            "values key gateway.targetCpuPercent must be a whole number from 1 to 100, not 101",
        ),
        (
            setting("ray.workers.replicas", -1),
            "values key ray.workers.replicas must be a whole number from 0, not -1",
        ),
        (
            setting("ray.workers.minReplicas", -1),
            "values key ray.workers.minReplicas must be a whole number from 0, not -1",
        ),
        (
            setting("ray.workers.maxReplicas", -1),
            "values key ray.workers.maxReplicas must be a whole number from 0, not -1",
        ),
        (
            setting("gateway.minReplicas", 6),
            "gateway.minReplicas must not exceed gateway.maxReplicas",
        ),
        (
            setting("gateway.minAvailable", 3),
            "gateway.minAvailable must be below gateway.minReplicas, or no node could be drained",
        ),
        (
            setting("ray.workers.replicas", 3),
            "ray.workers.replicas must lie between minReplicas and maxReplicas",
        ),
        (
            setting("ray.workers.minReplicas", 2),
            "ray.workers.replicas must lie between minReplicas and maxReplicas",
        ),
        (setting("watcher.intervalSeconds", 0.0), "watcher.intervalSeconds must be more than 0"),
        (setting("watcher.intervalSeconds", -1.0), "watcher.intervalSeconds must be more than 0"),
        (
            setting("watcher.livenessMaxAgeSeconds", 29.9),
            "watcher.livenessMaxAgeSeconds must be at least 3 intervals, "
            "or a slow tick restarts it",
        ),
        (
            lambda v: v["api"]["resources"]["limits"].update(memory="1 GB"),
            "api.resources.limits.memory: "
            "memory must be a size like 512Mi, 1Gi or 256M, not '1 GB'",
        ),
        (
            lambda v: v["gateway"]["resources"]["requests"].update(memory="1Ki"),
            "gateway.resources.requests.memory: memory must be between 1Mi and 256Gi, not 1Ki",
        ),
        (
            lambda v: v["ray"]["head"]["resources"]["requests"].update(cpu="-1"),
            "ray.head.resources.requests.cpu: "
            "cpu must be a number of CPUs like 0.5 or 500m, not '-1'",
        ),
        (
            lambda v: v["watcher"]["resources"]["limits"].update(cpu="0"),
            "watcher.resources.limits.cpu: cpu must be more than 0 and at most 64, not 0",
        ),
        (
            lambda v: v["ray"]["workers"]["resources"]["limits"].update(cpu="lots"),
            "ray.workers.resources.limits.cpu: "
            "cpu must be a number of CPUs like 0.5 or 500m, not 'lots'",
        ),
    ],
)
def test_values_that_cannot_run_are_refused_naming_the_key(change: Any, says: str) -> None:
    values = good()
    change(values)
    with pytest.raises(InvalidValuesError) as caught:
        check_values(values)
    assert str(caught.value) == says
