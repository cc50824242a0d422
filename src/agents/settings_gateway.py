"""The gateway's isolation and slow-client settings (issue 16). ``agents.settings.Settings``
extends this class, so every field is read from its environment variable like the rest;
``gateway_tuning`` is what ``deployer gateway`` hands its ``GatewayConfig``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agents.settings_watch import WatchSettings


class GatewaySettings(WatchSettings):
    """Per-upstream pools, timeouts and breakers; request read deadlines; the shadow backlog."""

    gateway_connect_timeout_seconds: float = Field(
        default=1.0, gt=0, allow_inf_nan=False, validation_alias="DEPLOYER_GATEWAY_CONNECT_TIMEOUT"
    )
    """Seconds a gateway may take to open a connection to a deployment."""

    gateway_pool_timeout_seconds: float = Field(
        default=0.5, gt=0, allow_inf_nan=False, validation_alias="DEPLOYER_GATEWAY_POOL_TIMEOUT"
    )
    """Seconds a request may wait for a free connection to its deployment (whose pool is full:
    a hung deployment's); then it counts as that deployment's failure and is retried on stable."""

    gateway_read_timeout_seconds: float = Field(
        default=5.0, gt=0, allow_inf_nan=False, validation_alias="DEPLOYER_GATEWAY_READ_TIMEOUT"
    )
    """Seconds a deployment may go without sending a byte of its answer."""

    gateway_canary_read_timeout_seconds: float = Field(
        default=3.0,
        gt=0,
        allow_inf_nan=False,
        validation_alias="DEPLOYER_GATEWAY_CANARY_READ_TIMEOUT",
    )
    """The same for a non-stable deployment: longer counts as its failure (its users already
    had the stable answer after the hedge delay, ``gateway_hedge_after_seconds``). Not lower
    by default: a canary slower than this is judged failing, not slow, and the latency rule's
    drill (tests/e2e/test_cli_watch.py) runs a 1.5 s canary."""

    gateway_hedge_after_seconds: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, validation_alias="DEPLOYER_GATEWAY_HEDGE_AFTER"
    )
    """Seconds a non-stable deployment may take to send its answer's headers before the gateway
    sends the same request to the stable deployment too and answers with whichever comes
    first (a hedge: a hung canary costs its users this, not the canary read deadline). Unset:
    the connect timeout. The canary's late answer still counts, as a slow request; none by
    its read deadline counts as its failure."""

    gateway_connections_per_upstream: int = Field(
        default=64, ge=1, le=10000, validation_alias="DEPLOYER_GATEWAY_CONNECTIONS_PER_UPSTREAM"
    )
    """Connections a gateway keeps at most to one deployment (each has its own pool)."""

    gateway_breaker_failures: int = Field(
        default=5, ge=1, validation_alias="DEPLOYER_GATEWAY_BREAKER_FAILURES"
    )
    """Failures or timeouts in a row that open a non-stable deployment's breaker."""

    gateway_breaker_cooldown_seconds: float = Field(
        default=2.0, gt=0, allow_inf_nan=False, validation_alias="DEPLOYER_GATEWAY_BREAKER_COOLDOWN"
    )
    """Seconds an open breaker sends that deployment's share to stable before one probe."""

    gateway_ejection_seconds: float = Field(
        default=60.0,
        gt=0,
        allow_inf_nan=False,
        validation_alias="DEPLOYER_GATEWAY_EJECTION_SECONDS",
    )
    """Seconds an ejected non-stable deployment gets no users unless its table changes first
    (the monitor's rollback or next step); then it is readmitted on the figures it was ejected
    on, so a failure puts it out again at once. At least the model lock's expiry: the monitor
    may be kept off the model that long by a deploy still finishing."""

    gateway_header_timeout_seconds: float = Field(
        default=30.0, gt=0, allow_inf_nan=False, validation_alias="DEPLOYER_GATEWAY_HEADER_TIMEOUT"
    )
    """Seconds a client has to send a request's line and headers (and an idle keep-alive
    connection stays open)."""

    gateway_body_timeout_seconds: float = Field(
        default=30.0, gt=0, allow_inf_nan=False, validation_alias="DEPLOYER_GATEWAY_BODY_TIMEOUT"
    )
    """Seconds a client has to send a request's whole body (then 408 and the connection closes)."""

    gateway_shadow_backlog_bytes: int = Field(
        default=64 * 1024 * 1024, ge=0, validation_alias="DEPLOYER_GATEWAY_SHADOW_BACKLOG_BYTES"
    )
    """Bytes of requests and answers waiting for their shadow call, at most (beyond: dropped)."""

    @property
    def gateway_tuning(self) -> dict[str, Any]:
        """These settings as ``GatewayConfig`` keywords."""
        return {
            "connect_timeout": self.gateway_connect_timeout_seconds,
            "pool_timeout": self.gateway_pool_timeout_seconds,
            "read_timeout": self.gateway_read_timeout_seconds,
            "canary_read_timeout": self.gateway_canary_read_timeout_seconds,
            "hedge_after": self.gateway_hedge_after_seconds,
            "connections_per_upstream": self.gateway_connections_per_upstream,
            "breaker_failures": self.gateway_breaker_failures,
            "breaker_cooldown": self.gateway_breaker_cooldown_seconds,
            "ejection_seconds": self.gateway_ejection_seconds,
            "header_timeout": self.gateway_header_timeout_seconds,
            "body_timeout": self.gateway_body_timeout_seconds,
            "shadow_backlog_bytes": self.gateway_shadow_backlog_bytes,
        }
