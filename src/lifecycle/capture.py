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


def sampled(percent: float, draw: float) -> bool:
    """Whether a request is captured: ``draw`` is uniform in [0, 1); 0 % never, 100 % always."""
    return draw * 100.0 < percent


def retention_cutoff(now: datetime, retention_seconds: float) -> datetime:
    """Captured rows older than this go."""
    return now - timedelta(seconds=retention_seconds)


def feature_rows(inputs: Any, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """A captured request's inputs as one feature dict per row.

    The served models take ``{"instances": [...]}`` (``mlops.bento_service``) whose rows are
    lists of values (the version's signature columns, in order) or records (column -> value).
    A list row is named by ``columns`` when they are given and as long as the row, else
    ``"0"``, ``"1"``, ...; a record is kept as it is. A bare list of rows or a single record is
    read the same way. Anything else (a scalar, an unparsable body: ``None``) gives no rows.
    """
    rows: Any
    if isinstance(inputs, Mapping) and "instances" in inputs:
        rows = inputs["instances"]
    elif isinstance(inputs, Mapping):
        rows = [inputs]
    else:
        rows = inputs
    if not isinstance(rows, list):
        return []
    out: list[dict[str, Any]] = []
    for row in rows:
        if isinstance(row, Mapping):
            out.append({str(k): v for k, v in row.items()})
        elif isinstance(row, list):
            names = columns if columns is not None and len(columns) == len(row) else None
            out.append({(names[i] if names else str(i)): value for i, value in enumerate(row)})
    return out


DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class InvalidDurationError(BadInputError):
    """A duration that is not a positive number with a unit (``90s``, ``30m``, ``1h``, ``2d``)."""


def duration_seconds(text: str) -> float:
    """``"1h"`` -> 3600.0; units s, m, h, d, w; InvalidDurationError otherwise."""
    match = DURATION.fullmatch(text)
    if match is None or float(match.group(1)) <= 0:
        raise InvalidDurationError(
            f"expected a duration such as 90s, 30m, 1h, 2d or 1w, got {text!r}"
        )
    return float(match.group(1)) * UNIT_SECONDS[match.group(2)]
