"""The shadow latency gate's settings: seed 001's 1.2x by default, reaching the agent's policy,
and a value that would make the gate meaningless refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.bootstrap import Container
from agents.settings import Settings


def test_the_shadow_latency_defaults_reach_the_promotion_policy() -> None:
    s = Settings()
    assert (s.shadow_latency_ratio, s.shadow_latency_slack_ms) == (1.2, 20.0)
    promotion = Container(Settings(DEPLOYER_SHADOW_LATENCY_RATIO="1.5")).policy().promotion
    assert (promotion.shadow_latency_ratio, promotion.shadow_latency_slack_ms) == (1.5, 20.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEPLOYER_SHADOW_LATENCY_RATIO", "0.9"),
        ("DEPLOYER_SHADOW_LATENCY_RATIO", "nan"),
        ("DEPLOYER_SHADOW_LATENCY_SLACK_MS", "-1"),
        ("DEPLOYER_SHADOW_LATENCY_SLACK_MS", "inf"),
    ],
)
def test_a_bad_shadow_latency_setting_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(**{name: value})
