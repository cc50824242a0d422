"""Figures as people read them on the dashboard: never in e-notation, thousands grouped.

Pure (no I/O); the templates' ``figure`` and ``percent`` filters and the charts' tick and bar
labels all go through ``figure``, so a page never shows ``1.34e+03 ms`` (it shows ``1,340``) or
``7e-05`` (it shows ``0.00007``).
"""

from __future__ import annotations

import math
from typing import Any

SMALLEST = 1e-6
"""Below this (and above zero) a figure reads ``<0.000001``: more zeros help nobody."""


def figure(value: Any, digits: int = 3) -> str:
    """``value`` with at most ``digits`` significant figures in plain decimals, trailing zeros
    dropped; from a thousand up, whole and grouped (``1,340``); ``-`` for none; other values as
    text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, float):
        return str(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    size = abs(value)
    if size == 0:
        return "0"
    if size < SMALLEST:
        return "<0.000001" if value > 0 else ">-0.000001"
    if size >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, digits - 1 - math.floor(math.log10(size)))
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if abs(float(text)) >= 1000:  # 999.7 rounds up to a thousand
        return f"{value:,.0f}"
    return "0" if text in ("-0", "0") else text


def percent(share: Any) -> str:
    """A share 0..1 as a percent (``12.5%``); ``-`` for none."""
    if share is None:
        return "-"
    return f"{figure(float(share) * 100)}%"
