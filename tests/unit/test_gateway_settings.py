"""The gateway's isolation and slow-client settings: their defaults reach a GatewayConfig as
keywords it knows, the environment changes them, and a value that cannot work is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.settings import Settings
from mlops.gateway.backend import GatewayConfig


def test_the_gateway_tuning_defaults_make_a_gateway_config() -> None:
    config = GatewayConfig(token="t" * 16, **Settings().gateway_tuning)
    assert (config.connect_timeout, config.pool_timeout, config.read_timeout) == (1.0, 0.5, 5.0)
    assert config.canary_read_timeout == 3.0
    assert config.hedge_after is None  # the gateway hedges after its connect timeout
    assert (config.connections_per_upstream, config.breaker_failures) == (64, 5)
    assert (config.header_timeout, config.body_timeout) == (30.0, 30.0)
    assert config.ejection_seconds == 60.0  # the model lock's expiry


def test_the_environment_sets_the_gateway_tuning() -> None:
    tuning = Settings(
        DEPLOYER_GATEWAY_CONNECT_TIMEOUT="0.25",
        DEPLOYER_GATEWAY_BREAKER_COOLDOWN="7",
        DEPLOYER_GATEWAY_SHADOW_BACKLOG_BYTES="1000",
        DEPLOYER_GATEWAY_HEDGE_AFTER="0.4",
        DEPLOYER_GATEWAY_EJECTION_SECONDS="90",
    ).gateway_tuning
    assert (tuning["connect_timeout"], tuning["breaker_cooldown"]) == (0.25, 7.0)
    assert tuning["hedge_after"] == 0.4
    assert tuning["ejection_seconds"] == 90.0
    assert tuning["shadow_backlog_bytes"] == 1000


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEPLOYER_GATEWAY_CONNECT_TIMEOUT", "0"),
        ("DEPLOYER_GATEWAY_POOL_TIMEOUT", "-1"),
        ("DEPLOYER_GATEWAY_READ_TIMEOUT", "inf"),
        ("DEPLOYER_GATEWAY_CANARY_READ_TIMEOUT", "0"),
        ("DEPLOYER_GATEWAY_EJECTION_SECONDS", "0"),
        ("DEPLOYER_GATEWAY_CONNECTIONS_PER_UPSTREAM", "0"),
        ("DEPLOYER_GATEWAY_BREAKER_FAILURES", "0"),
        ("DEPLOYER_GATEWAY_BREAKER_COOLDOWN", "nan"),
        ("DEPLOYER_GATEWAY_HEADER_TIMEOUT", "0"),
        ("DEPLOYER_GATEWAY_BODY_TIMEOUT", "-5"),
        ("DEPLOYER_GATEWAY_SHADOW_BACKLOG_BYTES", "-1"),
        ("DEPLOYER_GATEWAY_HEDGE_AFTER", "0"),
        ("DEPLOYER_EARLY_FAIL_CONFIDENCE", "0.5"),
        ("DEPLOYER_EARLY_FAIL_CONFIDENCE", "1.5"),
        ("DEPLOYER_GATEWAY_HEDGE_AFTER", "inf"),
    ],
)
def test_a_gateway_setting_that_cannot_work_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(**{name: value})


def test_the_early_fail_confidence_reaches_the_rollout_policy_only_when_set() -> None:
    assert "early_fail_confidence" not in Settings().rollback_overrides  # the preset's 0.99
    chosen = Settings(DEPLOYER_EARLY_FAIL_CONFIDENCE="0.95").rollback_overrides
    assert chosen["early_fail_confidence"] == 0.95
