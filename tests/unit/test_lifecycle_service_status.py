"""``lifecycle.service_status``: every native status, changing or not, maps to seed 002's."""

from __future__ import annotations

import pytest

from lifecycle.service_status import (
    ServiceStatus,
    delete_refusal,
    routed_away_first,
    service_status,
)
from lifecycle.stages import DeploymentStatus


@pytest.mark.parametrize(
    ("status", "changing", "expected"),
    [
        ("pending", False, ServiceStatus.CREATING),
        ("pending", True, ServiceStatus.CREATING),
        ("deploying", False, ServiceStatus.CREATING),
        ("deploying", True, ServiceStatus.CREATING),
        ("active", False, ServiceStatus.ACTIVE),
        ("active", True, ServiceStatus.UPDATING),
        ("draining", False, ServiceStatus.ACTIVE),
        ("draining", True, ServiceStatus.DELETING),
        ("rolled_back", False, ServiceStatus.DELETED),
        ("rolled_back", True, ServiceStatus.DELETED),
        ("failed", False, ServiceStatus.FAILED),
        ("failed", True, ServiceStatus.FAILED),
    ],
)
def test_service_status(status: str, changing: bool, expected: ServiceStatus) -> None:
    assert service_status(status, changing) is expected


def test_every_native_status_is_in_the_table() -> None:
    seen = {service_status(s.value, c) for s in DeploymentStatus for c in (False, True)}
    assert seen == set(ServiceStatus)


def test_an_unknown_native_status_is_refused() -> None:
    with pytest.raises(ValueError):
        service_status("exploded", False)


@pytest.mark.parametrize(
    ("deployment", "weights", "stable", "refused"),
    [
        ("s", {"s": 100.0}, "s", True),  # the stable one, alone
        ("s", {"s": 90.0, "c": 10.0}, "s", True),  # the stable one beside a canary
        ("c", {"s": 90.0, "c": 10.0}, "s", False),  # a canary: routed away to s
        ("c", {"c": 100.0}, None, True),  # all the users' weight, no stable named
        ("c", {"s": 0.0, "c": 100.0}, None, True),  # the others take nothing
        ("c", {"s": 100.0, "c": 0.0}, None, False),
        ("m", {"s": 100.0}, "s", False),  # the mirror, or not in the table at all
        ("m", {}, None, False),  # an empty table: nobody is served by it
        ("c", {"s": 0.5, "c": 99.5}, None, False),  # the others take a little: routed there
        ("c", {"s": 0.0, "c": 0.5}, None, True),  # a little, and nobody else anything
        ("c", {"s": 0.0, "c": 0.0}, None, False),  # a table that serves nobody
    ],
)
def test_delete_refusal(
    deployment: str, weights: dict[str, float], stable: str | None, refused: bool
) -> None:
    why = delete_refusal(deployment, "iris", weights, stable)
    assert bool(why) is refused
    if refused:
        assert why == (
            f"{deployment} is what serves iris's users: deploy or roll back to another "
            "deployment first, then delete it"
        )


@pytest.mark.parametrize(
    ("deployment", "weights", "shadow", "expected"),
    [
        ("c", {"s": 90.0, "c": 10.0}, None, True),
        ("c", {"s": 100.0, "c": 0.0}, None, True),
        ("m", {"s": 100.0}, "m", True),
        ("old", {"s": 100.0}, "m", False),
    ],
)
def test_routed_away_first(
    deployment: str, weights: dict[str, float], shadow: str | None, expected: bool
) -> None:
    assert routed_away_first(deployment, weights, shadow) is expected
