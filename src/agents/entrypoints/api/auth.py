"""Who may call the ops API: bearer tokens, the users they stand for, and their roles.

Tokens come from ``DEPLOYER_API_TOKENS`` when it is set, else from the file
``$DEPLOYER_HOME/api-tokens.json``. The environment variable is a comma-separated list of
``TOKEN=USER:ROLE`` entries::

    DEPLOYER_API_TOKENS="k8Zq...=alice:deployer,Vb3x...=bob:approver"

The file holds ``{"tokens": [{"token": "...", "user": "alice", "role": "deployer"}, ...]}``;
``deployer api`` writes one (mode 0600, one user per role, fresh random tokens) when neither
exists. A token is at least 16 characters; a malformed spec is a ConfigurationError whose one line
names the entry but never echoes a token.

Roles are ordered: viewer < deployer < approver < admin, each including the ones below it.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from lifecycle.errors import ConfigurationError

TOKENS_ENV = "DEPLOYER_API_TOKENS"
TOKENS_FILE = "api-tokens.json"
MIN_TOKEN_LENGTH = 16


class Role(IntEnum):
    """What a token may do; a higher role includes every lower one."""

    VIEWER = 1  # reads: status, history, deployments, approvals, audit verification
    DEPLOYER = 2  # register, deploy, change traffic, stop, promote, roll back, resume
    APPROVER = 3  # approve or reject someone else's promotion
    ADMIN = 4  # everything

    @property
    def label(self) -> str:
        """The role as it is written in token specs: ``viewer``, ``deployer``, ..."""
        return self.name.lower()


def parse_role(text: str) -> Role:
    """``"deployer"`` -> Role.DEPLOYER; anything else raises ValueError."""
    try:
        return Role[text.strip().upper()]
    except KeyError:
        raise ValueError(text) from None


ROLE_NAMES = ", ".join(r.label for r in Role)


@dataclass(frozen=True)
class ApiUser:
    """The person a token stands for: the actor of every request made with it."""

    name: str
    role: Role

    def may(self, needed: Role) -> bool:
        """Whether this user's role includes ``needed``."""
        return self.role >= needed


class TokenTable:
    """Tokens and the users they authenticate; lookups compare in constant time."""

    def __init__(self, entries: Mapping[str, ApiUser], source: str) -> None:
        self._entries = dict(entries)
        self.source = source
        """Where the tokens came from (the variable's name or the file's path), for messages."""

    def authenticate(self, token: str) -> ApiUser | None:
        """The user of ``token``, or None. Every entry is compared, so the time taken does not
        tell how much of a token was right or which entry came close."""
        found: ApiUser | None = None
        given = token.encode()
        for known, user in self._entries.items():
            if hmac.compare_digest(known.encode(), given):
                found = user
        return found

    def users(self) -> list[ApiUser]:
        """Every user a token stands for, once each per role."""
        return sorted(set(self._entries.values()), key=lambda u: (u.role, u.name))

    def holders_of(self, role: Role) -> frozenset[str]:
        """Users with a token whose role includes ``role``."""
        return frozenset(u.name for u in self._entries.values() if u.may(role))


def parse_token_spec(text: str, source: str = TOKENS_ENV) -> TokenTable:
    """Read ``TOKEN=USER:ROLE,...`` into a table; a malformed entry is a ConfigurationError."""
    entries = [part.strip() for part in text.split(",")]
    if not any(entries):
        raise ConfigurationError(f"{source} is set but names no token; expected TOKEN=USER:ROLE")
    pairs = []
    for number, entry in enumerate(entries, start=1):
        token, sep, rest = entry.partition("=")
        user, colon, role = rest.rpartition(":")
        if not (sep and colon and user.strip()):
            raise ConfigurationError(
                f"entry {number} of {source} is not TOKEN=USER:ROLE (roles: {ROLE_NAMES})"
            )
        pairs.append((token.strip(), user.strip(), role))
    return _table(pairs, source)


def read_token_file(path: Path) -> TokenTable:
    """Read the tokens file; an unreadable or malformed one is a ConfigurationError."""
    try:
        data = json.loads(path.read_text())
        rows = data["tokens"]
        pairs = [(str(r["token"]), str(r["user"]), str(r["role"])) for r in rows]
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise ConfigurationError(
            f'{path} is not {{"tokens": [{{"token", "user", "role"}}, ...]}}'
        ) from None
    if not pairs:
        raise ConfigurationError(f"{path} names no token")
    return _table(pairs, str(path))


def _table(pairs: Iterable[tuple[str, str, str]], source: str) -> TokenTable:
    """Check every (token, user, role) and build the table."""
    entries: dict[str, ApiUser] = {}
    for number, (token, user, role_text) in enumerate(pairs, start=1):
        try:
            role = parse_role(role_text)
        except ValueError:
            raise ConfigurationError(
                f"entry {number} of {source} has unknown role {role_text.strip()!r}; "
                f"expected one of: {ROLE_NAMES}"
            ) from None
        if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
            raise ConfigurationError(
                f"entry {number} of {source}: a token needs at least {MIN_TOKEN_LENGTH} "
                "characters and no spaces"
            )
        if not user.strip():
            raise ConfigurationError(f"entry {number} of {source} names no user")
        if token in entries:
            raise ConfigurationError(f"entry {number} of {source} repeats an earlier token")
        entries[token] = ApiUser(user.strip(), role)
    return TokenTable(entries, source)


class ApiSettings(BaseSettings):
    """The API's own settings, read from the environment like ``agents.settings.Settings``."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    tokens_text: str | None = Field(default=None, validation_alias=TOKENS_ENV)
    """``TOKEN=USER:ROLE,...``; when unset, the tokens file in the home is read instead."""


def token_file(home_dir: Path) -> Path:
    """Where the tokens file of a home lives."""
    return home_dir / TOKENS_FILE


def load_tokens(home_dir: Path) -> TokenTable:
    """The tokens from ``DEPLOYER_API_TOKENS``, else the home's tokens file, else an error."""
    try:
        settings = ApiSettings()
    except ValidationError as exc:  # pragma: no cover - a str field accepts any text
        raise ConfigurationError(f"bad value for {TOKENS_ENV}: {exc.errors()[0]['msg']}") from None
    if settings.tokens_text is not None:
        return parse_token_spec(settings.tokens_text)
    path = token_file(home_dir)
    if not path.exists():
        raise ConfigurationError(
            f"no API tokens: set {TOKENS_ENV} or run `deployer api` once to create {path}"
        )
    return read_token_file(path)


def token_source(home_dir: Path) -> str | None:
    """Where ``load_tokens`` would read tokens from (the variable or the file), or None."""
    if ApiSettings().tokens_text is not None:
        return TOKENS_ENV
    path = token_file(home_dir)
    return str(path) if path.exists() else None


def create_token_file(home_dir: Path) -> Path:
    """Write a tokens file with a fresh random token for one user per role (mode 0600).

    The users are named after their roles (``viewer``, ``deployer``, ``approver``, ``admin``);
    an existing file is never overwritten (FileExistsError).
    """
    home_dir.mkdir(parents=True, exist_ok=True)
    path = token_file(home_dir)
    rows: list[dict[str, Any]] = [
        {"token": secrets.token_urlsafe(32), "user": role.label, "role": role.label}
        for role in Role
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"tokens": rows}, out, indent=2)
        out.write("\n")
    return path
