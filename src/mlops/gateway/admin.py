"""The gateway's admin API: its figures, and reading, replacing, removing and reloading the
routing tables, behind a bearer token.

The admin API is the control plane's: only the gateway's admin token opens it, never a person's
API token, whatever their roles in a tenant. A tenant's table is ``/admin/routes/{tenant}/{name}``
(``mlops.gateway.paths``); the bare ``/admin/routes/{name}`` is the default tenant's."""

from __future__ import annotations

import asyncio
import hmac
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from lifecycle.errors import (
    InvalidRouteError,
    ModelDeployerError,
    UnapprovedRouteError,
    UnknownModelError,
)
from lifecycle.ports import Routes
from mlops.gateway.backend import error
from mlops.gateway.paths import asked, model_of
from mlops.gateway.proxy import DataPlane


class AdminApi(DataPlane):
    """The data plane with its admin handlers (``/admin/...``)."""

    async def admin_stats(self, request: web.Request) -> web.Response:
        """Every figure as JSON."""
        return web.json_response(
            {
                "gateway_id": self.config.gateway_id,
                "deployments": [s.snapshot() for s in self.stats.values()],
                "shadows": [s.snapshot() for s in self.shadows.values()],
                "breakers": self.breakers.figures(),
            }
        )

    # -- the admin API -----------------------------------------------------------------------

    def admin(
        self, handler: Callable[[web.Request], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Require ``Authorization: Bearer <token>`` with the gateway's token; answer 401
        otherwise (an empty token included, whatever the gateway was given)."""

        async def guarded(request: web.Request) -> web.Response:
            given = request.headers.get("Authorization", "")
            scheme, _, token = given.partition(" ")
            token = token.strip()
            if (
                scheme.lower() != "bearer"
                or not token
                or not hmac.compare_digest(token.encode(), self.config.token.encode())
            ):
                return error(401, "a valid admin token is required", "unauthorized")
            return await handler(request)

        return guarded

    def _describe(self, name: str) -> dict[str, Any] | None:
        route = self.snapshot.routes.get(name)
        if route is None:
            return None
        routes = route.routes
        return {
            "model_name": name,
            "revision": route.revision,
            "weights": dict(routes.weights),
            "effective_weights": route.effective_weights(),
            "stable_deployment_id": route.stable,
            "shadow_deployment_id": routes.shadow_deployment_id,
            "shadow_percent": routes.shadow_percent,
            "live_deployments": sorted(route.upstreams),
        }

    async def reload_now(self, request: web.Request) -> web.Response:
        """Load the tables now instead of at the next poll: a control plane that just wrote a
        table (a rollback) pushes it here, so it takes effect in milliseconds."""
        await self.reload()
        revisions = {name: route.revision for name, route in self.snapshot.routes.items()}
        return web.json_response({"revisions": revisions})

    async def list_routes(self, request: web.Request) -> web.Response:
        """Every table being served."""
        return web.json_response(
            {"routes": [self._describe(name) for name in sorted(self.snapshot.routes)]}
        )

    async def get_routes(self, request: web.Request) -> web.Response:
        """One table as served (``verify``: the effective weights)."""
        name = model_of(request.match_info)
        described = None if name is None else self._describe(name)
        if described is None:
            return error(404, f"no routing table for {asked(request.match_info)!r}", "no_routes")
        return web.json_response(described)

    async def put_routes(self, request: web.Request) -> web.Response:
        """Replace one table, atomically; 422 and no change for a malformed one, 409 and no
        change for one the stage rule refuses. The change is recorded as the token's holder
        (``config.admin_actor``): a body cannot name its actor (an ``actor`` field is a 422)."""
        name = model_of(request.match_info)
        if name is None:
            return error(404, f"unknown model {asked(request.match_info)!r}", "unknown_model")
        try:
            payload = await request.json()
        except ValueError:
            return error(422, "the body is not valid JSON", "invalid_route")
        try:
            routes = parse_routes(name, payload)
            await asyncio.to_thread(self.backend.save, routes, self.config.admin_actor)
        except UnknownModelError as exc:
            return error(404, str(exc), "unknown_model")
        except InvalidRouteError as exc:
            return error(422, str(exc), "invalid_route")
        except UnapprovedRouteError as exc:
            return error(409, str(exc), "unapproved_route")
        except ModelDeployerError as exc:
            return error(409 if exc.exit_code == 3 else 500, str(exc), "not_applied")
        await self.reload()
        described = self._describe(name)
        return web.json_response(described)

    async def delete_routes(self, request: web.Request) -> web.Response:
        """Remove one table (the model then answers 503)."""
        name = model_of(request.match_info)
        if name is None or not await asyncio.to_thread(
            self.backend.clear, name, self.config.admin_actor
        ):
            return error(404, f"no routing table for {asked(request.match_info)!r}", "no_routes")
        await self.reload()
        return web.json_response({"model_name": name, "removed": True})


def parse_routes(name: str, payload: Any) -> Routes:
    """A :class:`Routes` from an admin API body, or InvalidRouteError."""
    if not isinstance(payload, dict):
        raise InvalidRouteError("the body must be a JSON object")
    weights = payload.get("weights")
    if not isinstance(weights, dict) or not all(isinstance(k, str) for k in weights):
        raise InvalidRouteError('"weights" must be an object of deployment id -> percent')
    for deployment_id, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise InvalidRouteError(f"the weight of {deployment_id} is not a number: {weight!r}")
    shadow = payload.get("shadow_deployment_id")
    stable = payload.get("stable_deployment_id")
    percent = payload.get("shadow_percent", 0.0)
    if shadow is not None and not isinstance(shadow, str):
        raise InvalidRouteError('"shadow_deployment_id" must be a string')
    if stable is not None and not isinstance(stable, str):
        raise InvalidRouteError('"stable_deployment_id" must be a string')
    if isinstance(percent, bool) or not isinstance(percent, int | float) or math.isnan(percent):
        raise InvalidRouteError('"shadow_percent" must be a number')
    if "actor" in payload:
        raise InvalidRouteError(
            '"actor" is not accepted: a change is recorded as the admin token\'s holder'
        )
    unknown = set(payload) - {
        "weights",
        "shadow_deployment_id",
        "shadow_percent",
        "stable_deployment_id",
    }
    if unknown:
        raise InvalidRouteError(f"unknown fields: {', '.join(sorted(unknown))}")
    return Routes.from_json({**payload, "model_name": name})
