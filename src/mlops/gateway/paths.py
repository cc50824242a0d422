"""Which model a gateway path names, and the path of a model (issue 19: tenants).

A model's qualified name (``lifecycle.tenants``) is its path: ``/v1/models/team-a/fraud/predict``
serves ``team-a/fraud``, ``/v1/models/iris/predict`` (and ``/v1/models/default/iris/predict``)
the default tenant's ``iris``. The bare route takes one path segment and only a bare name, so it
can never reach a tenant's model, not even with an encoded ``/`` (``team-a%2Ffraud``): a name
that is not a default-tenant name reads as unknown, exactly like a model that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping

from lifecycle.errors import BadInputError
from lifecycle.tenants import DEFAULT_TENANT, parse_model_name

_NAMED: dict[tuple[str | None, str], str | None] = {}
"""``model_of``'s answers by path parts: every prediction asks, and the parts of a model's
paths are few (parsing them again was 0.7% of the gateway's busy samples in a profile)."""
_NAMED_MOST = 4096  # a client inventing names must not grow it without bound


def model_of(match_info: Mapping[str, str]) -> str | None:
    """The stored (qualified) name a route's ``{tenant}``/``{name}`` parts name, or None when
    they name no valid model (the caller answers as for an unknown model)."""
    key = (match_info.get("tenant"), match_info["name"])
    try:
        return _NAMED[key]
    except KeyError:
        pass
    if len(_NAMED) >= _NAMED_MOST:
        _NAMED.clear()
    named = _NAMED[key] = _model_of(*key)
    return named


def _model_of(tenant: str | None, name: str) -> str | None:
    if "/" in name or (tenant is not None and "/" in tenant):
        return None
    try:
        ref = parse_model_name(name if tenant is None else f"{tenant}/{name}")
    except BadInputError:
        return None
    if tenant is None and ref.tenant != DEFAULT_TENANT:
        return None
    return ref.qualified


def asked(match_info: Mapping[str, str]) -> str:
    """The name as the path gave it, for an answer's message."""
    tenant = match_info.get("tenant")
    return match_info["name"] if tenant is None else f"{tenant}/{match_info['name']}"


def model_path(model_name: str) -> str:
    """The path segment(s) of a model in the gateway's URLs: ``team-a/fraud`` or ``iris``
    (BadInputError for a name that is not one)."""
    return parse_model_name(model_name).qualified
