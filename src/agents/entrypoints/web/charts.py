"""Charts drawn on the server as SVG text: a line chart over time and a split bar.

Pure functions of their figures (no I/O), so a page renders the same picture the tests parse.
Series are told apart by dash pattern, marker and a labelled legend, never by colour alone;
every text is XML-escaped. The SVG uses presentation attributes only (no ``style``), so the
dashboard's Content-Security-Policy (``style-src 'self'``) allows it inline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from agents.entrypoints.web.numbers import figure

DASHES = ("", "6 4", "2 3", "10 3 2 3")
"""Dash patterns in series order: solid, dashed, dotted, dash-dot."""
COLOURS = ("#1f5fa8", "#b3471d", "#2f7d32", "#6b3fa0")
"""Colours in series order (a second signal beside the dash pattern, never the only one)."""
MARKERS = ("circle", "square", "diamond", "triangle")

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 64
EMPTY_HEIGHT = 64
CHAR_PX = 9.5
"""At least as wide as a character of a 13 px bold label (DejaVu Sans Bold's digits are ~8.3 px,
its ``%`` wider): a label is drawn inside its part only when this many pixels a character, and
``PAD`` on each side, fit; otherwise the legend alone names the part."""
PAD = 4.0
LEGEND_CHAR_PX = 8.0
"""At least as wide as a character of a 13 px legend label."""
LEGEND_ROW = 22


@dataclass(frozen=True)
class Series:
    """One line: its legend label and its (time, value) points, oldest first."""

    label: str
    points: Sequence[tuple[datetime, float]] = field(default_factory=tuple)


@dataclass(frozen=True)
class Segment:
    """One part of a split bar: its label and its share in percent (0-100)."""

    label: str
    percent: float


def _nice_max(value: float) -> float:
    """A round upper bound at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    """A tick label: at most three significant figures, never an exponent (``1,500``)."""
    return figure(float(value))


def fits(text: str, width: float) -> bool:
    """Whether a 13 px bold ``text`` fits inside ``width`` pixels with room on both sides."""
    return len(text) * CHAR_PX + 2 * PAD <= width


def _attr(value: str) -> str:
    return quoteattr(value)


def line_chart(title: str, unit: str, series: Sequence[Series]) -> str:
    """An SVG line chart of ``series`` over time: axes with labelled ticks, the unit, a legend.

    With no point at all it says so in the picture rather than drawing empty axes."""
    points = [p for s in series for p in s.points]
    if not points:
        return "".join(
            [
                _open(title, EMPTY_HEIGHT),
                f"<title>{escape(title)}</title>",
                _heading(title),
                f'<text x="{LEFT}" y="46" font-size="13" fill="#444">no figures yet</text>',
                "</svg>",
            ]
        )
    parts = [_open(title), f"<title>{escape(title)}</title>", _desc(series, unit), _heading(title)]
    start = min(t for t, _ in points).timestamp()
    end = max(t for t, _ in points).timestamp()
    span = max(end - start, 1.0)
    top = _nice_max(max(v for _, v in points))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: datetime) -> float:
        return round(LEFT + (t.timestamp() - start) / span * plot_w, 1)

    def y(v: float) -> float:
        return round(TOP + plot_h - max(v, 0.0) / top * plot_h, 1)

    parts.append(_axes(top, unit, plot_w, plot_h))
    parts.append(_time_ticks(start, end, plot_w))
    for i, s in enumerate(series):
        parts.append(_line(i, s, x, y))
    parts.append(_legend(series))
    return "".join([*parts, "</svg>"])


STYLES = (
    "solid line, circles",
    "dashed line, squares",
    "dotted line, diamonds",
    "dash-dot line, triangles",
)
"""How each series looks, in words (for the picture's description: never colour alone)."""


def _desc(series: Sequence[Series], unit: str) -> str:
    """The chart in words: each series, how it is drawn, and its latest figure."""
    said = [
        f"{s.label} ({STYLES[i % len(STYLES)]}): latest {figure(float(s.points[-1][1]))} {unit}"
        for i, s in enumerate(series)
        if s.points
    ]
    return f"<desc>{escape('; '.join(said))}</desc>"


def _open(title: str, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label={_attr(title)} class="chart">'
    )


def _heading(title: str) -> str:
    return f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>'


def _axes(top: float, unit: str, plot_w: int, plot_h: int) -> str:
    bottom = TOP + plot_h
    out = [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT + plot_w}" y2="{bottom}" stroke="#333"/>',
        f'<text x="12" y="{TOP + plot_h / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2})">{escape(unit)}</text>',
    ]
    for k in range(5):
        value = top * k / 4
        ty = round(bottom - plot_h * k / 4, 1)
        out.append(
            f'<line x1="{LEFT - 4}" y1="{ty}" x2="{LEFT + plot_w}" y2="{ty}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{ty + 4}" font-size="11" text-anchor="end">'
            f"{_number(value)}</text>"
        )
    return "".join(out)


def _time_ticks(start: float, end: float, plot_w: int) -> str:
    bottom = HEIGHT - BOTTOM
    out = []
    for k in range(3):
        at = start + (end - start) * k / 2
        tx = round(LEFT + plot_w * k / 2, 1)
        label = datetime.fromtimestamp(at, tz=UTC).strftime("%H:%M:%S UTC")
        anchor = ("start", "middle", "end")[k]
        out.append(
            f'<text x="{tx}" y="{bottom + 16}" font-size="11" text-anchor="{anchor}">{label}</text>'
        )
    return "".join(out)


def _line(i: int, s: Series, x: Callable[[datetime], float], y: Callable[[float], float]) -> str:
    dash = DASHES[i % len(DASHES)]
    colour = COLOURS[i % len(COLOURS)]
    coords = " ".join(f"{x(t)},{y(v)}" for t, v in s.points)
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    out = [
        f'<g class="series" data-label={_attr(s.label)}>',
        f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash_attr} points="{coords}"/>',
    ]
    out.extend(_marker(i, x(t), y(v), colour) for t, v in s.points)
    out.append("</g>")
    return "".join(out)


def _marker(i: int, cx: float, cy: float, colour: str) -> str:
    shape = MARKERS[i % len(MARKERS)]
    if shape == "circle":
        return f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>'
    if shape == "square":
        return f'<rect x="{cx - 3}" y="{cy - 3}" width="6" height="6" fill="{colour}"/>'
    if shape == "diamond":
        pts = f"{cx},{cy - 4} {cx + 4},{cy} {cx},{cy + 4} {cx - 4},{cy}"
    else:
        pts = f"{cx},{cy - 4} {cx + 4},{cy + 3} {cx - 4},{cy + 3}"
    return f'<polygon points="{pts}" fill="{colour}"/>'


def _legend(series: Sequence[Series]) -> str:
    y = HEIGHT - 18
    out = []
    for i, s in enumerate(series):
        lx = LEFT + i * 150
        dash = DASHES[i % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        colour = COLOURS[i % len(COLOURS)]
        out.append(
            f'<line x1="{lx}" y1="{y}" x2="{lx + 28}" y2="{y}" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/>'
        )
        out.append(_marker(i, lx + 14, y, colour))
        out.append(f'<text x="{lx + 34}" y="{y + 4}" font-size="12">{escape(s.label)}</text>')
    return f'<g class="legend">{"".join(out)}</g>'


def split_bar(title: str, segments: Sequence[Segment]) -> str:
    """A horizontal bar split by share, hatched alternately (neighbours differ without colour),
    each part labelled inside only when its label fits (else its share alone, else nothing: never
    a clipped label), and a legend below, wrapped in rows inside the picture, naming every part
    with its share; an empty split says "no traffic"."""
    width, bar_h = WIDTH, 36
    shown = [s for s in segments if s.percent > 0]
    labels = [f"{s.label} {figure(float(s.percent))}%" for s in shown]
    places, rows = _legend_places(labels, width)
    height = bar_h + 8 + rows * LEGEND_ROW
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label={_attr(title)} class="split">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(', '.join(labels) or 'no traffic')}</desc>",
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" '
        'stroke-width="2"/></pattern></defs>',
    ]
    if not shown:
        parts.append(
            f'<rect x="0" y="4" width="{width}" height="{bar_h}" fill="#eee" stroke="#999"/>'
            f'<text x="{width / 2}" y="27" text-anchor="middle" font-size="13">no traffic</text>'
        )
        return "".join([*parts, "</svg>"])
    total = sum(s.percent for s in shown)
    left = 0.0
    for i, (s, label, (lx, ly)) in enumerate(zip(shown, labels, places, strict=True)):
        w = round(s.percent / total * width, 1)
        parts.append(f'<g class="segment" data-label={_attr(s.label)}>')
        parts.append(_swatch(i, round(left, 1), 4, w, bar_h))
        inside = next((t for t in (label, f"{figure(float(s.percent))}%") if fits(t, w)), "")
        if inside:
            parts.append(
                f'<text x="{round(left + w / 2, 1)}" y="27" text-anchor="middle" font-size="13" '
                f'fill="#fff" font-weight="bold" aria-hidden="true">{escape(inside)}</text>'
            )
        y = bar_h + 14 + ly
        parts.append(_swatch(i, lx, y, 14, 14))
        parts.append(
            f'<text x="{round(lx + 20, 1)}" y="{y + 12}" font-size="13" class="legend-label">'
            f"{escape(label)}</text></g>"
        )
        left += w
    return "".join([*parts, "</svg>"])


def _legend_places(labels: Sequence[str], width: float) -> tuple[list[tuple[float, int]], int]:
    """Where each legend entry starts (x, row offset), flowing into new rows so that none runs
    past ``width``; and how many rows."""
    places: list[tuple[float, int]] = []
    x, row = 0.0, 0
    for label in labels:
        entry = 20 + len(label) * LEGEND_CHAR_PX
        if x > 0 and x + entry > width:
            x, row = 0.0, row + 1
        places.append((round(x, 1), row * LEGEND_ROW))
        x += entry + 16
    return places, (row + 1) if labels else 0


def _swatch(i: int, x: float, y: float, w: float, h: float) -> str:
    """A part's colour, hatched for every second part."""
    colour = COLOURS[i % len(COLOURS)]
    out = f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{colour}" stroke="#fff"/>'
    if i % 2:
        out += f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="url(#hatch)" opacity="0.35"/>'
    return out
