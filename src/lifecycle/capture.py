"""Prediction capture's decisions, pure: the capture percent a model may be given, the request
id a prediction carries, whether a request is sampled, when captured rows are old enough to
go, and a captured request's inputs as feature rows.

The gateway (``mlops.gateway.capture``) applies these on its hot path, so they are cheap: no
allocation when a request is not sampled, one precompiled pattern for a client's request id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lifecycle.durations import parse_duration
from lifecycle.errors import BadInputError

MAX_REQUEST_ID_LENGTH = 64
"""The longest request id kept as the client sent it (the ``predictions.request_id`` column)."""

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
"""The request ids a client may choose: letters, digits, ``. _ : -``; 1 to 64 characters."""


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One captured prediction as a capture store writes it (the ``predictions`` columns):
    what the gateway hands its store (``mlops.gateway.capture``)."""

    request_id: str
    model_name: str
    version: str
    deployment_id: str
    captured_at: datetime
    latency_ms: float
    status: int
    inputs: Any
    output: Any
    gateway: str


class InvalidCapturePercentError(BadInputError):
    """A capture percent that is not a number from 0 to 100."""


def capture_percent(value: Any) -> float:
    """``value`` as a capture percent (0 = off, 100 = every request), or
    InvalidCapturePercentError: booleans, non-numbers, NaN, infinities and values outside
    [0, 100] are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidCapturePercentError(f"the capture percent must be a number, got {value!r}")
    try:
        percent = float(value)
    except ValueError:
        raise InvalidCapturePercentError(
            f"the capture percent must be a number, got {value!r}"
        ) from None
    if not math.isfinite(percent) or not 0.0 <= percent <= 100.0:
        raise InvalidCapturePercentError(
            f"the capture percent must be from 0 to 100, got {value!r}"
        )
    return percent


def request_id(given: str | None, new: Callable[[], str]) -> str:
    """The request id a prediction carries: the client's ``X-Request-Id`` when it is 1 to 64
    characters of ``[A-Za-z0-9._:-]``, else a new one from ``new`` (a uuid4 in the gateway)."""
    if given is not None and REQUEST_ID.fullmatch(given) is not None:
        return given
    return new()


_UUID4_MASK = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID4_BITS = (4 << 76) | (0x2 << 62)


def uuid4_text(bits: int) -> str:
    """A version-4 UUID's text from 128 random ``bits`` (the version and variant bits set):
    the gateway's new request ids, drawn from ``random.getrandbits`` (a third of
    ``str(uuid.uuid4())``'s cost, which asks the kernel for 16 bytes every request; the ids
    must be unique, not secret)."""
    h = f"{(bits & _UUID4_MASK) | _UUID4_BITS:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def sampled(percent: float, draw: float) -> bool:
    """Whether a request is captured: ``draw`` is uniform in [0, 1); 0 % never, 100 % always."""
    return draw * 100.0 < percent


def retention_cutoff(now: datetime, retention_seconds: float) -> datetime:
    """Captured rows older than this go."""
    return now - timedelta(seconds=retention_seconds)


def body_rows(inputs: Any) -> list[Any] | None:
    """The rows of a captured request body, the one reading of it (features and drift).

    The served models take ``{"instances": [...]}`` (``mlops.bento_service``) whose rows are
    lists of values (the version's signature columns, in order) or records (column -> value).
    A bare list of rows or a single record is read the same way. Anything else (a scalar, an
    unparsable body: ``None``, instances that are not a list) gives None.
    """
    rows: Any = inputs  # a stored body is decoded JSON: ``dict`` (cheaper to test than Mapping)
    if isinstance(inputs, dict):
        rows = inputs.get("instances", [inputs])
    return rows if isinstance(rows, list) else None


def feature_rows(inputs: Any, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """A captured request's inputs (``body_rows``) as one feature dict per row.

    A list row is named by ``columns`` when they are given and as long as the row, else
    ``"0"``, ``"1"``, ...; a record is kept as it is; other rows are skipped. An unreadable
    body gives no rows.
    """
    out: list[dict[str, Any]] = []
    for row in body_rows(inputs) or []:
        if isinstance(row, Mapping):
            out.append({str(k): v for k, v in row.items()})
        elif isinstance(row, list):
            names = columns if columns is not None and len(columns) == len(row) else None
            out.append({(names[i] if names else str(i)): value for i, value in enumerate(row)})
    return out


def column_rows(inputs: Any, columns: Sequence[str]) -> list[list[Any]] | None:
    """A captured request's inputs (``body_rows``) as value lists in ``columns`` order (what
    the drift check compares), or None when the body or any row does not fit ``columns``: a
    list row must be as long as them, a record must name every one (others are ignored)."""
    rows = body_rows(inputs)
    if rows is None:
        return None
    out: list[list[Any]] = []
    width = len(columns)
    for row in rows:  # lists first: the served rows, and the cheaper check
        if not isinstance(row, list):
            if not isinstance(row, Mapping) or any(c not in row for c in columns):
                return None
            row = [row[c] for c in columns]
        if len(row) != width:
            return None
        out.append(row)
    return out


def output_predictions(output: Any) -> list[Any]:
    """The predictions of a captured answer, one per request row: ``{"predictions": [...]}``
    as the served models answer (or a bare list); none for anything else (an error answer)."""
    values = output.get("predictions") if isinstance(output, dict) else output
    return values if isinstance(values, list) else []


def row_outputs(output: Any, count: int) -> list[Any]:
    """``output_predictions`` when there are exactly ``count`` of them (else none), each a
    scalar (anything else, e.g. a list of class probabilities, as its text)."""
    values = output_predictions(output)
    if len(values) != count:
        return []
    return [v if isinstance(v, int | float | str | bool) else str(v) for v in values]


def duration_seconds(text: str) -> float:
    """``"1h"`` -> 3600.0 (``lifecycle.durations``); InvalidDurationError otherwise."""
    return parse_duration(text)
