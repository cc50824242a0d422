"""Secrets out of URIs before they are shown: the one redaction every output uses.

``redact_uri`` hides the password of ``scheme://user:password@host`` (``user:***@host``) and the
value of every query parameter whose name sounds secret (``?password=``, ``?token=``,
``?sslkey=``, ...). ``redact_text`` does it to every URI inside a message. Pure string work: a
URI that does not parse is still redacted as far as it goes, never refused.
"""

from __future__ import annotations

import re

HIDDEN = "***"

SECRET_WORDS = ("pass", "pwd", "token", "secret", "key", "auth", "credential", "signature")
"""A query parameter whose name holds one of these (any case) has its value hidden."""

_USERINFO = re.compile(r"^(?P<user>[^:/@?#]*):(?P<password>[^?#]*)@")
"""The password runs to the *last* ``@`` before the query: one holding ``@`` or ``/`` unencoded
(SQLAlchemy accepts both) is hidden whole. So ``http://host:5000/a@b`` shows as
``http://host:***@b``: hiding too much beats showing a secret."""
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_PARAMETER = re.compile(r"(?<=[?&])(?P<name>[A-Za-z0-9_.\-]+)=(?P<value>[^&\s'\"#<>]+)")
"""A query parameter anywhere in a text, e.g. in a path a client quotes without its scheme."""


def is_secret_name(name: str) -> bool:
    """Whether a query parameter called ``name`` carries a secret."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def redact_uri(uri: str) -> str:
    """``uri`` with its password and secret query values replaced by ``***``."""
    scheme, separator, rest = uri.partition("://")
    if separator:
        rest = _USERINFO.sub(_hide_password, rest)
    else:
        scheme, rest = "", uri
    head, question, tail = rest.partition("?")
    if question:
        query, hash_mark, fragment = tail.partition("#")
        tail = _redact_query(query) + hash_mark + fragment
    return scheme + separator + head + question + tail


def redact_text(text: str) -> str:
    """``text`` with every ``scheme://...`` in it redacted, and every secret query parameter
    (``?token=...``) even where no scheme precedes it (for error messages and logs)."""
    text = _URI.sub(lambda match: redact_uri(match.group(0)), text)
    return _PARAMETER.sub(_hide_parameter, text)


def _hide_parameter(match: re.Match[str]) -> str:
    if not is_secret_name(match.group("name")):
        return match.group(0)
    return f"{match.group('name')}={HIDDEN}"


def _hide_password(match: re.Match[str]) -> str:
    if not match.group("password"):
        return match.group(0)
    return f"{match.group('user')}:{HIDDEN}@"


def _redact_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        parts.append(f"{name}={HIDDEN}" if equals and value and is_secret_name(name) else part)
    return "&".join(parts)
