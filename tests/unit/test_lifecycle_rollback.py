"""Rollback configs pinned exactly: the bounds a config may take, presets read by name, overrides
and the JSON form a rollout row stores."""

from __future__ import annotations

import pytest

from lifecycle.errors import BadInputError
from lifecycle.rollback import (
    PRESETS,
    RollbackConfig,
    RollbackPreset,
    config_from_dict,
    config_to_dict,
    configure,
    rollback_preset,
)

REFUSED = {
    "a negative error rate": (
        (-0.001, 1.5, 10, 1.0),
        "error_rate_threshold must be a fraction between 0 and 1",
    ),
    "an error rate over 1": (
        (1.001, 1.5, 10, 1.0),
        "error_rate_threshold must be a fraction between 0 and 1",
    ),
    "a multiplier under 1": ((0.01, 0.999, 10, 1.0), "latency_multiplier must be at least 1.0"),
    "no request needed": ((0.01, 1.5, 0, 1.0), "min_requests must be at least 1"),
    "no time between checks": ((0.01, 1.5, 10, 0.0), "check_interval_seconds must be positive"),
    "negative time between checks": (
        (0.01, 1.5, 10, -1.0),
        "check_interval_seconds must be positive",
    ),
}


@pytest.mark.parametrize(("args", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_a_config_outside_its_bounds_is_refused_with_the_reason(
    args: tuple[float, float, int, float], message: str
) -> None:
    with pytest.raises(BadInputError) as raised:
        RollbackConfig(*args)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "args",
    [(0.0, 1.5, 10, 1.0), (1.0, 1.5, 10, 1.0), (0.01, 1.0, 10, 1.0), (0.01, 1.5, 1, 0.001)],
    ids=["no error allowed", "every error allowed", "no slower", "one request, often"],
)
def test_a_config_at_its_bounds_is_accepted(args: tuple[float, float, int, float]) -> None:
    RollbackConfig(*args)


@pytest.mark.parametrize(
    ("name", "preset"),
    [
        ("balanced", RollbackPreset.BALANCED),
        (" Conservative ", RollbackPreset.CONSERVATIVE),
        ("AGGRESSIVE", RollbackPreset.AGGRESSIVE),
        (RollbackPreset.AGGRESSIVE, RollbackPreset.AGGRESSIVE),
    ],
)
def test_presets_are_read_by_name_forgivingly(name: str, preset: RollbackPreset) -> None:
    assert rollback_preset(name) is PRESETS[preset]


def test_an_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(BadInputError) as raised:
        rollback_preset("reckless")
    assert str(raised.value) == (
        "unknown rollback preset 'reckless'; expected one of: conservative, balanced, aggressive"
    )


def test_overrides_replace_only_what_they_name_and_a_count_becomes_a_whole_number() -> None:
    config = configure(" balanced", {"min_requests": 50.0, "latency_multiplier": 3.0})
    assert config == RollbackConfig(0.01, 3.0, 50, 60.0, RollbackPreset.BALANCED)
    assert type(config.min_requests) is int


def test_overrides_set_to_none_keep_the_preset() -> None:
    aggressive = PRESETS[RollbackPreset.AGGRESSIVE]
    unset: dict[str, float | int] = {"error_rate_threshold": None}  # type: ignore[dict-item]
    assert configure("aggressive", unset) == aggressive
    assert configure("aggressive") == aggressive
    assert configure("aggressive", {}) == aggressive


def test_every_overridable_field_may_be_set() -> None:
    config = configure(
        "conservative",
        {
            "error_rate_threshold": 0.2,
            "latency_multiplier": 4.0,
            "min_requests": 7,
            "check_interval_seconds": 2.5,
        },
    )
    assert config == RollbackConfig(0.2, 4.0, 7, 2.5, RollbackPreset.CONSERVATIVE)


def test_unknown_overrides_are_named_in_order() -> None:
    with pytest.raises(BadInputError) as raised:
        configure("balanced", {"zeta": 1, "preset": 2, "min_requests": 3})
    assert str(raised.value) == "unknown rollback settings: preset, zeta"


def test_overrides_are_checked_like_any_config() -> None:
    with pytest.raises(BadInputError, match="min_requests must be at least 1"):
        configure("balanced", {"min_requests": 0})


def test_a_config_is_stored_as_json_and_read_back() -> None:
    config = RollbackConfig(0.02, 1.5, 40, 5.0, RollbackPreset.BALANCED)
    data = config_to_dict(config)
    assert data == {
        "error_rate_threshold": 0.02,
        "latency_multiplier": 1.5,
        "min_requests": 40,
        "check_interval_seconds": 5.0,
        "preset": "balanced",
        "early_fail_confidence": 0.99,
    }
    assert type(data["preset"]) is str
    assert config_from_dict(data) == config


def test_a_config_stored_before_the_early_fail_confidence_fails_early_only_on_certainty() -> None:
    stored = config_to_dict(RollbackConfig(0.02, 1.5, 40, 5.0))
    del stored["early_fail_confidence"]
    assert config_from_dict(stored).early_fail_confidence == 1.0


@pytest.mark.parametrize("confidence", [0.89, 1.01, float("nan")])
def test_an_early_fail_confidence_outside_0_9_to_1_is_refused(confidence: float) -> None:
    with pytest.raises(BadInputError, match=r"^early_fail_confidence must be between 0\.9 and 1$"):
        configure("balanced", {"early_fail_confidence": confidence})


def test_an_early_fail_confidence_at_its_bounds_is_taken() -> None:
    assert configure("balanced", {"early_fail_confidence": 0.9}).early_fail_confidence == 0.9
    assert configure("balanced", {"early_fail_confidence": 1}).early_fail_confidence == 1.0


def test_a_config_without_a_preset_is_stored_and_read_without_one() -> None:
    config = RollbackConfig(0.02, 1.5, 40, 5.0)
    assert config_to_dict(config)["preset"] is None
    assert config_from_dict(config_to_dict(config)) == config
    stored = {"error_rate_threshold": "0.5", "latency_multiplier": "2", "min_requests": "3"}
    assert config_from_dict({**stored, "check_interval_seconds": "1.5"}) == RollbackConfig(
        0.5,
        2.0,
        3,
        1.5,
        early_fail_confidence=1.0,  # stored before it: certainty only
    )
    assert config_from_dict({**stored, "check_interval_seconds": 1, "preset": ""}).preset is None
