"""A gateway's deadlines: each upstream's own connection pool and timeouts (a hung deployment
holds at most its own pool, and a non-stable one has a tighter read deadline), and the aiohttp
server's deadlines for slow clients (issue 16)."""

from __future__ import annotations

from typing import Any, TypedDict

import aiohttp
from aiohttp import web

from mlops.gateway.backend import GatewayConfig, error


def forwarding() -> dict[str, Any]:
    """How the gateway's client sessions talk to model servers (measured in bench/gateway.py):
    bodies are only forwarded (the shadow's parsed as they come), so no cookie jar to filter,
    and no compression to undo: every call says ``Accept-Encoding: identity``
    (``calls.UPSTREAM_HEADERS``, which carries every header aiohttp would add, User-Agent
    included, so that it takes its fast path and adds none). No ``skip_auto_headers``: aiohttp
    then copied and merged the headers a second time on every call (1.7% of the gateway's
    busy samples in a py-spy profile, 0.3% in the bare forwarder's) to skip a header it would
    not have added anyway."""
    return {"cookie_jar": aiohttp.DummyCookieJar(), "auto_decompress": False}


def upstream_sessions(config: GatewayConfig) -> tuple[aiohttp.ClientSession, aiohttp.ClientSession]:
    """The users' and the shadow's client sessions. Each upstream has its own pool of at most
    ``connections_per_upstream`` connections (no shared total a hung deployment could fill);
    opening a connection, waiting for a free one and reading the answer have their own
    deadlines, and ``upstream_timeout`` bounds the whole call."""
    timeout = aiohttp.ClientTimeout(
        total=config.upstream_timeout,
        connect=config.pool_timeout + config.connect_timeout,
        sock_connect=config.connect_timeout,
        sock_read=config.read_timeout,
    )
    users = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=0, limit_per_host=config.connections_per_upstream, keepalive_timeout=30
        ),
        timeout=timeout,
        **forwarding(),
    )
    shadow = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=config.shadow_concurrency),
        timeout=aiohttp.ClientTimeout(
            total=config.shadow_timeout, sock_connect=config.connect_timeout
        ),
        **forwarding(),
    )
    return users, shadow


def canary_timeout(config: GatewayConfig) -> aiohttp.ClientTimeout | None:
    """A non-stable deployment's deadlines: its first byte within ``canary_read_timeout``
    (None: the session's); past it the call counts as the canary's failure (its user got the
    stable answer at the hedge delay, ``mlops.gateway.calls.hedged``)."""
    if config.canary_read_timeout is None:
        return None
    return aiohttp.ClientTimeout(
        total=config.upstream_timeout,
        connect=config.pool_timeout + config.connect_timeout,
        sock_connect=config.connect_timeout,
        sock_read=config.canary_read_timeout,
    )


class ServerOptions(TypedDict):
    """aiohttp server keywords (``web.run_app``, ``web.AppRunner``)."""

    keepalive_timeout: float
    lingering_time: float


def server_options(config: GatewayConfig) -> ServerOptions:
    """The aiohttp server's deadlines for slow clients: a connection whose request line and
    headers are not whole within ``header_timeout`` is closed (aiohttp's keep-alive timer runs
    from the connection's start and closes one with no whole request), and after an answer
    to an unfinished body (413, 408) the rest is read for at most a second, not aiohttp's 10."""
    return ServerOptions(keepalive_timeout=config.header_timeout, lingering_time=1.0)


def slow_body(seconds: float) -> web.Response:
    """408 for a client that did not send its body within ``seconds``; the connection closes."""
    answer = error(408, f"the body did not arrive within {seconds:g} s", "body_timeout")
    answer.force_close()
    return answer
