"""A deploy's resources as typed, read once, and each backend's verdict: a table per rule."""

from __future__ import annotations

import pytest

from lifecycle.errors import BadInputError
from lifecycle.resource_asks import (
    LOCAL_MAX_WORKERS,
    AskedText,
    UnhonouredResourcesError,
    asked_resources,
    asked_text,
    check_asked,
    check_backend,
)
from lifecycle.resources import Autoscale, InvalidResourcesError, Resources

MI = 1024**2


@pytest.mark.parametrize(
    ("asked", "resources"),
    [
        ({}, Resources()),
        ({"replicas": 3}, Resources(replicas=3)),
        ({"cpu": "0.5"}, Resources(cpu=0.5)),
        ({"cpu": "250m", "memory": "512Mi"}, Resources(cpu=0.25, memory_bytes=512 * MI)),
        ({"autoscale": "1:4"}, Resources(autoscale=Autoscale(1, 4))),
        ({"replicas": 2, "autoscale": "1:4:5"}, Resources(2, autoscale=Autoscale(1, 4, 5.0))),
        ({"cpu": "", "memory": "", "autoscale": ""}, Resources()),  # an empty field is unset
    ],
)
def test_the_figures_as_typed_read_into_one_resources(
    asked: dict[str, object], resources: Resources
) -> None:
    assert asked_resources(**asked) == resources  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("asked", "words"),
    [
        ({"cpu": "lots"}, "cpu must"),
        ({"cpu": "0"}, "cpu must"),
        ({"memory": "12XB"}, "memory must"),
        ({"memory": "512"}, "memory must"),
        ({"autoscale": "4:1"}, "autoscale needs"),
        ({"autoscale": "many"}, "autoscale must"),
        ({"replicas": 0}, "replicas must"),
        ({"replicas": 65}, "replicas must"),
        ({"replicas": 5, "autoscale": "1:4"}, "must lie within"),
    ],
)
def test_a_malformed_figure_is_bad_input_with_its_own_words(
    asked: dict[str, object], words: str
) -> None:
    with pytest.raises(InvalidResourcesError, match=words) as refused:
        asked_resources(**asked)  # type: ignore[arg-type]
    assert isinstance(refused.value, BadInputError) and refused.value.exit_code == 2


@pytest.mark.parametrize(
    ("resources", "text"),
    [
        (Resources(), AskedText()),
        (Resources(cpu=0.5), AskedText(cpu="0.5")),
        (Resources(memory_bytes=512 * MI), AskedText(memory="512Mi")),
        (Resources(2, autoscale=Autoscale(1, 4)), AskedText(2, autoscale="1:4:2")),
        (
            Resources(3, 2.0, 1024**3, Autoscale(0, 8, 1.5)),
            AskedText(3, "2", "1Gi", "0:8:1.5"),
        ),
    ],
)
def test_the_canonical_text_reads_back_unchanged(resources: Resources, text: AskedText) -> None:
    assert asked_text(resources) == text
    assert asked_resources(text.replicas, text.cpu, text.memory, text.autoscale) == resources


@pytest.mark.parametrize(
    ("resources", "local_ok"),
    [
        (Resources(), True),
        (Resources(replicas=LOCAL_MAX_WORKERS), True),
        (Resources(replicas=LOCAL_MAX_WORKERS + 1), False),
        (Resources(cpu=0.5), False),
        (Resources(memory_bytes=512 * MI), False),
        (Resources(autoscale=Autoscale(1, 2)), False),
    ],
)
def test_a_local_backend_takes_a_worker_count_and_ray_takes_everything(
    resources: Resources, local_ok: bool
) -> None:
    assert check_backend(resources, "ray") == resources
    if local_ok:
        assert check_backend(resources, "local") == resources
        return
    with pytest.raises(UnhonouredResourcesError, match="DEPLOYER_SERVING=ray"):
        check_backend(resources, "local")


@pytest.mark.parametrize(
    ("backend", "asked", "refusal"),
    [
        ("local", {"replicas": 2}, None),
        ("local", {"cpu": "0.5"}, UnhonouredResourcesError),
        ("local", {"cpu": "lots"}, UnhonouredResourcesError),  # the backend is what to change
        ("local", {"autoscale": "4:1"}, UnhonouredResourcesError),
        ("local", {"replicas": 17}, UnhonouredResourcesError),
        ("local", {"replicas": 0}, InvalidResourcesError),
        ("ray", {"cpu": "0.5", "memory": "1Gi", "autoscale": "1:4"}, None),
        ("ray", {"cpu": "lots"}, InvalidResourcesError),
        ("ray", {"autoscale": "4:1"}, InvalidResourcesError),
    ],
)
def test_the_backend_is_judged_before_the_figures(
    backend: str, asked: dict[str, object], refusal: type[Exception] | None
) -> None:
    if refusal is None:
        assert check_asked(backend, **asked) == asked_resources(**asked)  # type: ignore[arg-type]
        return
    with pytest.raises(refusal) as refused:
        check_asked(backend, **asked)  # type: ignore[arg-type]
    assert isinstance(refused.value, UnhonouredResourcesError) == (
        refusal is UnhonouredResourcesError
    )
