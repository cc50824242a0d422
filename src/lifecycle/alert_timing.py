"""When alerts are retried, and how far back a history looks: pure time arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta

from lifecycle.durations import parse_duration


def backoff(attempt: int, base_seconds: float = 5.0, cap_seconds: float = 600.0) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...): doubling, capped."""
    if attempt < 1:
        return 0.0
    return float(min(cap_seconds, base_seconds * 2 ** (attempt - 1)))


def next_attempt(
    attempts: int, max_attempts: int, now: datetime, base_seconds: float = 5.0
) -> datetime | None:
    """When a delivery that failed ``attempts`` times is tried again; None: give up."""
    if attempts >= max_attempts:
        return None
    return now + timedelta(seconds=backoff(attempts, base_seconds))


def parse_window(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d``, ``1w`` (``lifecycle.durations``) as a duration; BadInputError
    otherwise."""
    return timedelta(seconds=parse_duration(text))
