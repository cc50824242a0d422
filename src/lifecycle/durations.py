"""The one way a person writes a length of time: ``90s``, ``30m``, ``1h``, ``1.5h``, ``2d``,
``1w``, or a bare number of seconds (units in either case).

Every window and age the CLI, the chat and the ops API take (capture export ``--since``, drift
and quality windows, alert history) is read here, each caller with its own upper bound, so
``deployer drift --window 1w`` and ``deployer alerts history --since 1w`` mean the same and
none can overflow a date.
"""

from __future__ import annotations

import re

from lifecycle.errors import BadInputError

DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", re.IGNORECASE)
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_SECONDS = 10_000 * 86400
"""The longest duration anyone may ask for (about 27 years: a date that far back exists)."""

WINDOW_PATTERN = (
    r"^[1-9][0-9]{0,7}[sS]?$|^[1-9][0-9]{0,5}[mM]$|^[1-9][0-9]{0,4}[hH]$"
    r"|^[1-9][0-9]{0,2}[dD]$|^[1-9][0-9]{0,2}[wW]$"
)
"""What the ops API's window parameters admit: whole seconds, minutes, hours, days or weeks,
each within ``MAX_SECONDS``, so a window the pattern admits is never refused."""


class InvalidDurationError(BadInputError):
    """Not a length of time this project reads (or out of the caller's range)."""


def parse_duration(text: str, at_most: float = MAX_SECONDS) -> float:
    """``text`` as seconds, between 1 s and ``at_most``; InvalidDurationError otherwise."""
    match = DURATION.fullmatch(text)
    seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2).lower()] if match else 0.0
    if not 1 <= seconds <= at_most:
        raise InvalidDurationError(
            f"{text!r} is not a duration of 1 s to {shown(at_most)}; "
            "write it like 90s, 30m, 1h, 2d or 1w"
        )
    return seconds


def shown(seconds: float) -> str:
    """A bound as a person reads it: ``366d``, ``1h``, ``90s``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
