"""A deploy's resources as typed, read once, and each backend's verdict: a table per rule."""

from __future__ import annotations

import pytest

from lifecycle.errors import BadInputError
from lifecycle.resource_asks import (
    LOCAL_MAX_WORKERS,
    AskedText,
    NotResizableError,
    ResizeAsk,
    UnhonouredResourcesError,
    asked_resources,
    asked_text,
    check_asked,
    check_backend,
    resize_refusal,
    resized,
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


# -- resizing a running deployment (PATCH /v1/deployments/{id})

RUNNING = Resources(2, cpu=0.5, memory_bytes=512 * MI)


@pytest.mark.parametrize(
    ("ask", "after"),
    [
        (ResizeAsk(replicas=4), Resources(4, cpu=0.5, memory_bytes=512 * MI)),
        (ResizeAsk(cpu="1"), Resources(2, cpu=1.0, memory_bytes=512 * MI)),
        (ResizeAsk(memory="1Gi"), Resources(2, cpu=0.5, memory_bytes=1024 * MI)),
        (
            ResizeAsk(autoscale="1:8"),
            Resources(2, cpu=0.5, memory_bytes=512 * MI, autoscale=Autoscale(1, 8)),
        ),
        (ResizeAsk(replicas=2), RUNNING),  # what it has: nothing changes
        (ResizeAsk(replicas=1, cpu="250m"), Resources(1, cpu=0.25, memory_bytes=512 * MI)),
    ],
)
def test_a_ray_resize_changes_the_figures_asked_and_keeps_the_others(
    ask: ResizeAsk, after: Resources
) -> None:
    assert resized("ray", RUNNING, ask) == after


@pytest.mark.parametrize(
    ("backend", "current", "ask", "error", "words"),
    [
        ("ray", RUNNING, ResizeAsk(), InvalidResourcesError, "asks for replicas"),
        ("ray", RUNNING, ResizeAsk(cpu="0"), InvalidResourcesError, "cpu must"),
        ("ray", RUNNING, ResizeAsk(replicas=65), InvalidResourcesError, "replicas must"),
        ("ray", RUNNING, ResizeAsk(replicas=9, autoscale="1:8"), InvalidResourcesError, "within"),
        ("local", Resources(2), ResizeAsk(replicas=3), UnhonouredResourcesError, "--replicas 3"),
        ("local", Resources(2), ResizeAsk(cpu="0.5"), UnhonouredResourcesError, "DEPLOYER_SERVING"),
        ("local", Resources(2), ResizeAsk(cpu="0"), UnhonouredResourcesError, "honours --replicas"),
        ("local", Resources(), ResizeAsk(autoscale="1:2"), UnhonouredResourcesError, "honours"),
        ("local", Resources(), ResizeAsk(memory="1Gi"), UnhonouredResourcesError, "honours"),
    ],
)
def test_a_resize_a_backend_cannot_honour_is_refused_before_anything_changes(
    backend: str, current: Resources, ask: ResizeAsk, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words) as refused:
        resized(backend, current, ask)  # type: ignore[arg-type]
    assert refused.value.exit_code == 2  # type: ignore[attr-defined]


def test_a_resize_refusal_says_what_to_do_in_one_line() -> None:
    with pytest.raises(InvalidResourcesError) as empty:
        resized("ray", RUNNING, ResizeAsk())
    assert str(empty.value) == "a resize asks for replicas, cpu, memory or autoscale"
    with pytest.raises(UnhonouredResourcesError) as local:
        resized("local", Resources(2), ResizeAsk(replicas=3))
    assert str(local.value) == (
        "a local endpoint's workers are fixed when its server starts (2 now): deploy the "
        "version again with --replicas 3, or serve on DEPLOYER_SERVING=ray to resize in place"
    )


def test_a_local_endpoint_asked_for_the_workers_it_has_changes_nothing() -> None:
    assert resized("local", Resources(2), ResizeAsk(replicas=2)) == Resources(2)


@pytest.mark.parametrize(
    ("status", "changing", "words"),
    [
        ("active", None, ""),
        ("draining", None, ""),
        ("active", "run-7", "being changed by run run-7"),
        ("pending", None, "only a running deployment"),
        ("deploying", None, "only a running deployment"),
        ("rolled_back", None, "only a running deployment"),
        ("failed", None, "only a running deployment"),
    ],
)
def test_only_a_running_deployment_no_run_is_changing_may_be_resized(
    status: str, changing: str | None, words: str
) -> None:
    why = resize_refusal("d-1", status, changing)
    assert (why == "") if not words else (words in why and "d-1" in why)


def test_a_refused_resize_is_a_refusal_not_bad_input() -> None:
    assert NotResizableError("x").exit_code == 3
