"""Shadow disagreement samples that any database stores, whatever the request body was.

A sample says which request the two deployments disagreed on. It goes into the state DB with
the gateway's figures, so it must never stop a flush (PostgreSQL's JSONB refuses a NUL
character, NaN, inf and lone surrogates) and must not copy users' data there by default. So a
sample keeps the request's SHA-256 prefix, its size and its shape (top-level keys, number of
instances and width of the first one), never the body; a model that opts in
(``DEPLOYER_SHADOW_SAMPLE_BODIES``) also keeps the body, sanitised and truncated. The two
outputs are sanitised and truncated the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

MAX_STRING = 200
"""Characters kept of any one string (keys included)."""
MAX_ITEMS = 20
"""Items kept of any one list, keys of any one object."""
MAX_DEPTH = 6
"""Nesting kept; deeper values become a placeholder."""
MAX_BODY_CHARS = 4096
"""Characters kept of an opted-in body once encoded; a longer one is kept as its prefix."""
HASH_CHARS = 16


def clean(value: Any, depth: int = 0) -> Any:
    """``value`` made safe for any JSON column: strings without NUL or lone surrogates and at
    most ``MAX_STRING`` long, finite numbers (NaN and inf become None), at most ``MAX_ITEMS``
    items or keys per level and ``MAX_DEPTH`` levels; anything else becomes its type's name."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _text(value)
    if depth >= MAX_DEPTH:
        return "..."
    if isinstance(value, list | tuple):
        return [clean(v, depth + 1) for v in value[:MAX_ITEMS]]
    if isinstance(value, dict):
        items = list(value.items())[:MAX_ITEMS]
        return {_text(str(k)): clean(v, depth + 1) for k, v in items}
    return type(value).__name__


def _text(value: str) -> str:
    safe = value[:MAX_STRING].replace("\x00", "")
    return safe.encode("utf-8", "replace").decode("utf-8")


def shape(parsed: Any) -> dict[str, Any]:
    """What a request body looks like without what it says: its JSON type, top-level keys and,
    for ``instances``, how many rows and how wide the first is."""
    found: dict[str, Any] = {"type": type(parsed).__name__}
    if isinstance(parsed, dict):
        found["keys"] = clean(sorted(str(k) for k in parsed)[:MAX_ITEMS])
        rows = parsed.get("instances")
        if isinstance(rows, list):
            found["instances"] = len(rows)
            if rows and isinstance(rows[0], list | dict):
                found["width"] = len(rows[0])
    return found


def request_summary(body: bytes, keep_body: bool) -> dict[str, Any]:
    """A request as a sample keeps it: hash, size and shape; the sanitised body when kept."""
    summary: dict[str, Any] = {
        "sha256": hashlib.sha256(body).hexdigest()[:HASH_CHARS],
        "bytes": len(body),
    }
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the stack
        summary["shape"] = {"type": "not json"}
        return summary
    summary["shape"] = shape(parsed)
    if keep_body:
        kept = clean(parsed)
        text = json.dumps(kept, ensure_ascii=False)
        summary["body"] = kept if len(text) <= MAX_BODY_CHARS else text[:MAX_BODY_CHARS]
        summary["body_truncated"] = len(text) > MAX_BODY_CHARS
    return summary


def disagreement(body: bytes, primary: Any, shadow: Any, keep_body: bool) -> dict[str, Any]:
    """The sample of one request whose outputs differed: see the module's docstring."""
    return {
        "request": request_summary(body, keep_body),
        "primary": clean(primary),
        "shadow": clean(shadow),
    }
