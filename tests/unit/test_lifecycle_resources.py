"""Resources as the CLI, the API, the columns and the backends read them: a table per rule."""

from __future__ import annotations

import pytest

from lifecycle.errors import BadInputError
from lifecycle.resources import (
    Autoscale,
    InvalidResourcesError,
    Placement,
    Resources,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
)


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("0.5", 0.5), ("2", 2.0), ("500m", 0.5), ("1m", 0.001), (" 1.25 ", 1.25), ("64", 64.0)],
)
def test_cpu_reads_whole_fractional_and_milli_cpus(text: str, cpus: float) -> None:
    assert parse_cpu(text) == cpus


@pytest.mark.parametrize("text", ["", "0", "0m", "-1", "64.5", "1.5m", "half", "1e3", "nan"])
def test_cpu_refuses_what_is_not_a_positive_figure(text: str) -> None:
    with pytest.raises(InvalidResourcesError, match="cpu must"):
        parse_cpu(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512Mi", 512 * 1024**2),
        ("1Gi", 1024**3),
        ("1.5Gi", 1536 * 1024**2),
        ("256M", 256 * 1000**2),
        ("1048576", 1024**2),
        ("2G", 2 * 1000**3),
        ("1024Ki", 1024**2),
        ("256Gi", 256 * 1024**3),
    ],
)
def test_memory_reads_binary_and_decimal_units(text: str, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize(
    "text", ["", "512", "1Ki", "512Ki", "1023Ki", "512mi", "1GB", "-1Gi", "257Gi", "Mi", "1 Gi"]
)
def test_memory_refuses_malformed_or_out_of_range_sizes(text: str) -> None:
    with pytest.raises(InvalidResourcesError, match="memory must"):
        parse_memory(text)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (512 * 1024**2, "512Mi"),
        (1024**3, "1Gi"),
        (1024**4, "1Ti"),
        (1536 * 1024, "1536Ki"),
        (256 * 1000**2, "256M"),
        (3 * 1024, "3Ki"),
        (1000, "1k"),
        (1023, "1023"),
        (1024**2 + 1, "1048577"),
    ],
)
def test_memory_is_written_in_the_largest_unit_that_divides_it(size: int, text: str) -> None:
    assert format_memory(size) == text


@pytest.mark.parametrize(("cpus", "text"), [(0.5, "0.5"), (2.0, "2"), (0.001, "0.001")])
def test_cpu_is_written_without_trailing_zeros(cpus: float, text: str) -> None:
    assert format_cpu(cpus) == text


@pytest.mark.parametrize(
    ("text", "scale"),
    [
        ("1:4", Autoscale(1, 4, 2.0)),
        ("0:3:5", Autoscale(0, 3, 5.0)),
        ("2:2:0.5", Autoscale(2, 2, 0.5)),
        ("1:64", Autoscale(1, 64, 2.0)),
    ],
)
def test_autoscale_reads_min_max_and_an_optional_target(text: str, scale: Autoscale) -> None:
    assert Autoscale.parse(text) == scale


@pytest.mark.parametrize(
    "text",
    [
        "4",
        "4:1",
        "1:2:3:4",
        "a:b",
        "-1:2",
        "0:0",
        "1:65",
        "1:4:0",
        "1:4:-1",
        "1:4:nan",
        "1:4:inf",
        "1:4:1001",
        "",
    ],
)
def test_autoscale_refuses_what_cannot_bound_replicas(text: str) -> None:
    with pytest.raises(InvalidResourcesError, match="autoscale"):
        Autoscale.parse(text)


def test_the_limits_themselves_are_allowed() -> None:
    Autoscale(0, 1, 1000.0)
    Resources(replicas=64, cpu=64.0, memory_bytes=256 * 1024**3)
    Resources(replicas=1, memory_bytes=1024**2)
    Resources(replicas=4, autoscale=Autoscale(1, 4))  # the bounds of autoscale, both ends
    Resources(replicas=1, autoscale=Autoscale(1, 4))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"replicas": 0}, "replicas must be between 1 and 64"),
        ({"replicas": 65}, "replicas must be between 1 and 64"),
        ({"cpu": 0.0}, "cpu must"),
        ({"cpu": 64.5}, "cpu must"),
        ({"memory_bytes": 1024**2 - 1}, "memory must"),
        ({"memory_bytes": 256 * 1024**3 + 1}, "memory must"),
        ({"replicas": 5, "autoscale": Autoscale(1, 4)}, "within autoscale's 1:4"),
        ({"replicas": 1, "autoscale": Autoscale(2, 4)}, "within autoscale's 2:4"),
    ],
)
def test_resources_refuse_what_no_backend_could_honour(kwargs: dict, words: str) -> None:
    with pytest.raises(InvalidResourcesError, match=words) as caught:
        Resources(**kwargs)
    assert isinstance(caught.value, BadInputError) and caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("resources", "columns"),
    [
        (
            Resources(),
            {"replicas": 1, "cpu_limit": None, "memory_limit": None, "autoscaling": {}},
        ),
        (
            Resources(3, 0.5, 512 * 1024**2, Autoscale(1, 4, 3.0)),
            {
                "replicas": 3,
                "cpu_limit": "0.5",
                "memory_limit": "512Mi",
                "autoscaling": {
                    "min_replicas": 1,
                    "max_replicas": 4,
                    "target_ongoing_requests": 3.0,
                },
            },
        ),
        (
            Resources(2, 2.0, 10**9),
            {"replicas": 2, "cpu_limit": "2", "memory_limit": "1G", "autoscaling": {}},
        ),
    ],
)
def test_resources_round_trip_through_their_columns(resources: Resources, columns: dict) -> None:
    assert resources.to_columns() == columns
    assert Resources.from_columns(**columns) == resources


@pytest.mark.parametrize(
    ("resources", "beyond"),
    [
        (Resources(), False),
        (Resources(replicas=4), False),
        (Resources(cpu=1.0), True),
        (Resources(memory_bytes=1024**3), True),
        (Resources(autoscale=Autoscale(1, 2)), True),
    ],
)
def test_asks_beyond_replicas_is_what_a_local_endpoint_cannot_honour(
    resources: Resources, beyond: bool
) -> None:
    assert resources.asks_beyond_replicas is beyond


def test_an_autoscaling_column_without_a_target_takes_the_default() -> None:
    assert Resources.from_columns(1, None, None, {"min_replicas": 1, "max_replicas": 2}) == (
        Resources(1, autoscale=Autoscale(1, 2, 2.0))
    )


def test_a_placement_reports_as_json() -> None:
    assert Placement(2, 1, ("head", "worker"), False, "replica died").to_json() == {
        "wanted": 2,
        "running": 1,
        "nodes": ["head", "worker"],
        "healthy": False,
        "detail": "replica died",
    }
    assert Placement(1, 1).to_json()["healthy"] is True
