"""Identities for tests: ``issue_tokens`` gives each named person a token of the ops API.

TEMPORARY body: it works with today's token mechanism (``DEPLOYER_API_TOKENS`` in the
environment the tests start ``deployer api`` with). The real body (role bindings and hashed
per-person tokens in the state database, ``deployer access ...``) replaces it with the same
signature; callers therefore only pass the same ``env`` on to the API server and use the
returned tokens.
"""

from __future__ import annotations

import secrets

TOKENS_ENV = "DEPLOYER_API_TOKENS"


def issue_tokens(env: dict[str, str], roles: dict[str, str]) -> dict[str, str]:
    """A fresh token per user of ``roles`` ({user: role}), granted in ``env`` (the environment
    of an initialised home that the test runs ``deployer`` and ``deployer api`` with);
    {user: token}. Tokens issued earlier in ``env`` stay valid."""
    tokens = {user: secrets.token_urlsafe(24) for user in roles}
    entries = [f"{tokens[user]}={user}:{role}" for user, role in roles.items()]
    earlier = [env[TOKENS_ENV]] if env.get(TOKENS_ENV) else []
    env[TOKENS_ENV] = ",".join(earlier + entries)
    return tokens
