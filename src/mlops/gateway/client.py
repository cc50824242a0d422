"""Talking to running gateways: the admin API as a router, ``/admin/stats`` as a metrics source,
and the immediate and gradual traffic switches the endpoint manager offers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx

from lifecycle.errors import InfrastructureError, InvalidRouteError, UnknownModelError
from lifecycle.latency import RequestCounts, merged_metrics, summed_counts
from lifecycle.metrics import PerformanceMetrics, ShadowStats
from lifecycle.ports import Router, Routes
from lifecycle.routing import gradual
from mlops.gateway.paths import model_path


class GatewayClient:
    """A router and metrics source over the admin API of one or more gateway replicas.

    Routes are written through the first URL (the table lives in the shared database, so every
    replica serves it within a second); figures are summed over all of them.
    """

    def __init__(self, urls: str | Sequence[str], token: str, timeout: float = 10.0) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        if not self.urls:
            raise ValueError("a gateway client needs at least one gateway URL")
        self._client = httpx.Client(
            timeout=timeout, headers={"Authorization": f"Bearer {token}"}, trust_env=False
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise InfrastructureError(f"the gateway at {url} did not answer: {exc}") from exc
        if response.status_code == 404 and method == "PUT":
            raise UnknownModelError(response.json().get("error", "unknown model"))
        if response.status_code == 422:
            raise InvalidRouteError(response.json().get("error", "invalid routing table"))
        if response.status_code >= 400 and response.status_code != 404:
            raise InfrastructureError(
                f"the gateway refused {method} {url}: {response.status_code} {response.text[:200]}"
            )
        return response

    def set_routes(self, routes: Routes) -> None:
        """Apply a table now (the replica answering applies it before it replies)."""
        self.put(routes)

    def put(self, routes: Routes) -> dict[str, Any]:
        """Apply a table and return it as the gateway now serves it (recorded as the token's
        holder: the admin API takes no actor from a body)."""
        body = routes.table_json()
        url = f"{self.urls[0]}/admin/routes/{model_path(routes.model_name)}"
        return dict(self._request("PUT", url, json=body).json())

    def verify(self, model_name: str, url: str | None = None) -> dict[str, Any] | None:
        """The table one replica serves, with its effective weights; None if it has none."""
        response = self._request(
            "GET", f"{url or self.urls[0]}/admin/routes/{model_path(model_name)}"
        )
        return None if response.status_code == 404 else dict(response.json())

    def get_routes(self, model_name: str) -> Routes | None:
        """The table being served, as a :class:`Routes`."""
        served = self.verify(model_name)
        if served is None:
            return None
        return Routes.from_json({**served, "model_name": model_name})

    def tables(self, model_names: Iterable[str]) -> dict[str, Routes]:
        """The tables being served of these models (one request each: an admin API client)."""
        found = {name: self.get_routes(name) for name in model_names}
        return {name: routes for name, routes in found.items() if routes is not None}

    def stats(self) -> list[dict[str, Any]]:
        """``/admin/stats`` of every replica."""
        return [dict(self._request("GET", f"{url}/admin/stats").json()) for url in self.urls]

    def metrics(self, deployment_id: str) -> PerformanceMetrics:
        """Window figures of one deployment, merged over the replicas."""
        rows = [
            row
            for stats in self.stats()
            for row in stats["deployments"]
            if row["deployment_id"] == deployment_id
        ]
        return merged_metrics(rows)

    def counts(self, deployment_id: str) -> RequestCounts:
        """Cumulative counters of one deployment, summed over the replicas."""
        return summed_counts(
            row["total"]
            for stats in self.stats()
            for row in stats["deployments"]
            if row["deployment_id"] == deployment_id
        )

    def shadow_stats(self, deployment_id: str) -> ShadowStats:
        """Output comparison of one shadow deployment, summed over the replicas."""
        return ShadowStats.total(
            ShadowStats.from_figures(row)
            for stats in self.stats()
            for row in stats["shadows"]
            if row["shadow_deployment_id"] == deployment_id
        )


def switch_gradually(
    router: Router,
    model_name: str,
    stable: str,
    candidate: str,
    step_percent: float,
    interval_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    should_continue: Callable[[Routes], bool] | None = None,
) -> list[Routes]:
    """Move traffic from ``stable`` to ``candidate`` by ``step_percent`` every interval.

    ``should_continue`` is asked before each step after the first; when it says no, the switch
    stops where it is and the tables applied so far are returned.
    """
    applied: list[Routes] = []
    for routes in gradual(model_name, stable, candidate, step_percent):
        if applied:
            sleep(interval_seconds)
            if should_continue is not None and not should_continue(applied[-1]):
                break
        router.set_routes(routes)
        applied.append(routes)
    return applied
