"""Per-tenant quotas: what a deployment counts, and the verdict on an ask: a table per rule."""

from __future__ import annotations

import pytest

from lifecycle.errors import BadInputError, QuotaExceededError, RefusedError
from lifecycle.quotas import (
    MAX_COUNT,
    MAX_QUOTA_CPU,
    MAX_QUOTA_MEMORY,
    InvalidQuotaError,
    Quota,
    Usage,
    capture_rows_to_drop,
    check_quota,
    demand,
    exceeded,
    parse_quota_cpu,
    parse_quota_memory,
    quota_figures,
    quota_from_text,
    usage_of,
)
from lifecycle.resources import Autoscale, Resources

GI = 1024**3
MI = 1024**2


@pytest.mark.parametrize(
    ("resources", "counted"),
    [
        (Resources(), Usage(1, 1)),  # a local endpoint: one replica, no CPU or memory reserved
        (Resources(replicas=3), Usage(1, 3)),  # replicas count on every backend
        (Resources(2, cpu=0.5, memory_bytes=512 * MI), Usage(1, 2, 1.0, GI)),
        (Resources(1, cpu=1.0, autoscale=Autoscale(1, 4)), Usage(1, 4, 4.0)),  # autoscale: max
        (Resources(memory_bytes=GI, autoscale=Autoscale(0, 2)), Usage(1, 2, 0.0, 2 * GI)),
    ],
)
def test_a_deployment_counts_its_replicas_and_what_they_reserve(
    resources: Resources, counted: Usage
) -> None:
    assert demand(resources) == counted


def test_usages_add_up_figure_by_figure() -> None:
    assert Usage(1, 2, 0.5, MI, 3) + Usage(2, 3, 1.0, GI, 4) == Usage(3, 5, 1.5, GI + MI, 7)


def test_the_largest_quota_of_each_figure_is_allowed() -> None:
    Quota(MAX_COUNT, MAX_COUNT, MAX_QUOTA_CPU, MAX_QUOTA_MEMORY, MAX_COUNT)


def test_usage_sums_the_live_deployments_and_keeps_the_capture_rows() -> None:
    live = [Resources(2, cpu=0.5), Resources(autoscale=Autoscale(1, 3), memory_bytes=GI)]
    assert usage_of(live, capture_rows=7) == Usage(2, 5, 1.0, 3 * GI, 7)
    assert usage_of([]) == Usage()


@pytest.mark.parametrize(
    ("quota", "usage", "ask", "message"),
    [
        (
            Quota(deployments=3),
            Usage(3, 3),
            Usage(1, 1),
            "tenant team-a: 3 of 3 deployments are in use; this deploy needs 1 more",
        ),
        (
            Quota(replicas=4),
            Usage(1, 3),
            Usage(1, 2),
            "tenant team-a: 3 of 4 replicas are in use; this deploy needs 2 more",
        ),
        (
            Quota(cpu=4.0),
            Usage(2, 2, 3.5),
            Usage(1, 1, 1.0),
            "tenant team-a: 3.5 of 4 CPUs are in use; this deploy needs 1 more",
        ),
        (
            Quota(memory_bytes=8 * GI),
            Usage(1, 1, 0.0, 6 * GI),
            Usage(1, 2, 0.0, 4 * GI),
            "tenant team-a: 6Gi of 8Gi of memory is in use; this deploy needs 4Gi more",
        ),
        (
            Quota(deployments=1, replicas=1),
            Usage(1, 1),
            Usage(1, 1),
            "tenant team-a: 1 of 1 deployments are in use; this deploy needs 1 more; "
            "1 of 1 replicas are in use; this deploy needs 1 more",
        ),
        (
            Quota(deployments=0),
            Usage(),
            Usage(1, 1),
            "tenant team-a: 0 of 0 deployments are in use; this deploy needs 1 more",
        ),
        (
            Quota(memory_bytes=MI),
            Usage(1, 1, 0.0, MI),
            Usage(1, 1, 0.0, 1),
            "tenant team-a: 1Mi of 1Mi of memory is in use; this deploy needs 1 more",
        ),
    ],
)
def test_an_ask_past_a_limit_is_refused_with_used_asked_and_allowed(
    quota: Quota, usage: Usage, ask: Usage, message: str
) -> None:
    with pytest.raises(QuotaExceededError) as refused:
        check_quota(quota, usage, ask, "team-a")
    assert str(refused.value) == message
    assert isinstance(refused.value, RefusedError) and refused.value.exit_code == 3


@pytest.mark.parametrize(
    ("quota", "usage", "ask"),
    [
        (None, Usage(100, 100, 100.0, 100 * GI), Usage(1, 64, 64.0, 64 * GI)),  # no quota
        (Quota(), Usage(9, 9), Usage(1, 1)),  # every figure unlimited
        (Quota(deployments=3), Usage(2, 2), Usage(1, 1)),  # exactly at the limit after
        (Quota(memory_bytes=2 * GI), Usage(1, 1, 0.0, GI), Usage(1, 1, 0.0, GI)),  # at it
        (Quota(1, 1, 1.0, MI), Usage(2, 2, 5.0, GI), Usage()),  # over already, an ask of nothing
        (Quota(cpu=1.0), Usage(1, 1, 0.7), Usage(1, 1, 0.3)),  # 0.7 + 0.3 is 1, not 1.0000001
        (Quota(cpu=0.5, memory_bytes=MI), Usage(3, 3), Usage(1, 1)),  # a local ask reserves none
        (Quota(cpu=1.0), Usage(1, 1, 5.0), Usage(1, 1, 0.0)),  # over already, the ask adds none
        (Quota(capture_rows=0), Usage(capture_rows=10), Usage(1, 1)),  # rows are not a deploy's
    ],
)
def test_an_ask_that_fits_or_adds_nothing_to_a_limited_figure_passes(
    quota: Quota | None, usage: Usage, ask: Usage
) -> None:
    check_quota(quota, usage, ask, "team-a")
    assert exceeded(quota or Quota(), usage, ask) == []


@pytest.mark.parametrize(
    ("typed", "quota"),
    [
        ({}, Quota()),
        ({"deployments": 3, "replicas": 6}, Quota(3, 6)),
        ({"cpu": "4", "memory": "8Gi"}, Quota(cpu=4.0, memory_bytes=8 * GI)),
        ({"cpu": "500m", "memory": "1Ti"}, Quota(cpu=0.5, memory_bytes=1024 * GI)),
        ({"cpu": "", "memory": "", "capture_rows": 1000}, Quota(capture_rows=1000)),
        ({"cpu": "128"}, Quota(cpu=128.0)),  # a tenant may hold more than one replica's maximum
        ({"cpu": "0", "memory": "0"}, Quota(cpu=0.0, memory_bytes=0)),  # nothing at all
        ({"memory": "1048576"}, Quota(memory_bytes=MI)),  # a plain byte count
    ],
)
def test_quota_figures_read_from_text(typed: dict[str, object], quota: Quota) -> None:
    read = quota_from_text(**typed)  # type: ignore[arg-type]
    assert read == quota
    assert Quota.from_columns(**read.to_columns()) == read


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ({"cpu": "lots"}, "CPU quota must be a number"),
        ({"cpu": "-1"}, "CPU quota must be a number"),
        ({"cpu": "200000"}, "CPU quota must be between"),
        ({"memory": "8XB"}, "memory quota must be a size"),
        ({"memory": "17Pi"}, "memory quota must be between"),
        ({"deployments": -1}, "quota of deployments must be between"),
        ({"replicas": 10**10}, "quota of replicas must be between"),
        ({"capture_rows": -5}, "quota of capture rows must be between"),
    ],
)
def test_a_malformed_quota_figure_is_bad_input(typed: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidQuotaError, match=words) as refused:
        quota_from_text(**typed)  # type: ignore[arg-type]
    assert isinstance(refused.value, BadInputError) and refused.value.exit_code == 2


@pytest.mark.parametrize(
    ("quota", "rows", "dropped"),
    [
        (None, 10, 0),
        (Quota(), 10, 0),
        (Quota(capture_rows=4), 10, 6),
        (Quota(capture_rows=4), 3, 0),
    ],
)
def test_captured_rows_beyond_the_quota_are_the_ones_dropped(
    quota: Quota | None, rows: int, dropped: int
) -> None:
    assert capture_rows_to_drop(quota, rows) == dropped


def test_the_figures_show_used_and_allowed_with_none_for_unlimited() -> None:
    shown = quota_figures(Quota(deployments=3, memory_bytes=8 * GI), Usage(2, 3, 1.5, GI, 40))
    assert quota_figures(Quota(cpu=4.0), Usage())["cpu"] == {"used": "0", "allowed": "4"}
    assert shown == {
        "deployments": {"used": 2, "allowed": 3},
        "replicas": {"used": 3, "allowed": None},
        "cpu": {"used": "1.5", "allowed": None},
        "memory": {"used": "1Gi", "allowed": "8Gi"},
        "capture_rows": {"used": 40, "allowed": None},
    }
    assert Quota().unlimited and not Quota(capture_rows=1).unlimited


def test_each_figure_s_reader_says_its_own_range() -> None:
    with pytest.raises(InvalidQuotaError, match="CPU quota must be between"):
        parse_quota_cpu("200000")
    with pytest.raises(InvalidQuotaError, match="memory quota must be between"):
        parse_quota_memory("17Pi")
    assert (parse_quota_cpu("1500m"), parse_quota_memory("1Ki")) == (1.5, 1024)
