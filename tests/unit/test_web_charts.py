"""The dashboard's SVG charts: well-formed, every series and its label drawn, series told apart
by dash pattern and marker (not colour alone), user text escaped, empty figures said in words."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from agents.entrypoints.web.charts import (
    Segment,
    Series,
    _nice_max,
    line_chart,
    split_bar,
)
from agents.entrypoints.web.numbers import figure

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def points(*values: float) -> list[tuple[datetime, float]]:
    return [(T0 + timedelta(seconds=10 * i), v) for i, v in enumerate(values)]


def series_of(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-label", ""): g for g in root.iter(f"{SVG}g") if g.get("class") == "series"}


def test_a_line_chart_is_well_formed_with_both_series_their_legend_and_axes() -> None:
    svg = line_chart(
        "p95 latency",
        "ms",
        [Series("stable p95", points(10, 11)), Series("canary p95", points(12, 30))],
    )
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "p95 latency"  # type: ignore[union-attr]
    assert root.get("role") == "img" and root.get("aria-label") == "p95 latency"
    drawn = series_of(root)
    assert set(drawn) == {"stable p95", "canary p95"}
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "stable p95" in texts and "canary p95" in texts and "ms" in texts
    assert "12:00:00 UTC" in texts and "12:00:10 UTC" in texts
    assert "50" in texts  # the y axis reaches a round number above the largest figure (30)


def test_series_differ_by_dash_pattern_and_marker_not_only_by_colour() -> None:
    root = ET.fromstring(
        line_chart("x", "ms", [Series("a", points(1, 2)), Series("b", points(2, 1))])
    )
    a, b = series_of(root)["a"], series_of(root)["b"]
    line_a, line_b = a.find(f"{SVG}polyline"), b.find(f"{SVG}polyline")
    assert line_a is not None and line_b is not None
    assert line_a.get("stroke-dasharray") is None
    assert line_b.get("stroke-dasharray") == "6 4"
    assert len(a.findall(f"{SVG}circle")) == 2 and len(b.findall(f"{SVG}rect")) == 2


def test_a_higher_value_is_drawn_higher_and_a_later_one_further_right() -> None:
    root = ET.fromstring(line_chart("x", "ms", [Series("a", points(1, 5))]))
    line = series_of(root)["a"].find(f"{SVG}polyline")
    assert line is not None
    (x1, y1), (x2, y2) = (tuple(map(float, p.split(","))) for p in line.get("points", "").split())
    assert x2 > x1 and y2 < y1


def test_a_chart_without_figures_says_so() -> None:
    root = ET.fromstring(line_chart("x", "ms", [Series("a"), Series("b")]))
    assert "no figures yet" in [t.text for t in root.iter(f"{SVG}text")]
    assert not series_of(root)


def test_user_text_in_titles_and_labels_is_escaped() -> None:
    evil = '<script>alert("x")</script> & "quotes"'
    svg = line_chart(evil, evil, [Series(evil, points(1))]) + split_bar(evil, [Segment(evil, 100)])
    assert "<script>" not in svg
    for part in (
        line_chart(evil, evil, [Series(evil, points(1))]),
        split_bar(evil, [Segment(evil, 100)]),
    ):
        root = ET.fromstring(part)
        assert root.get("aria-label") == evil


def test_a_split_bar_labels_each_share_and_leaves_out_zero_weights() -> None:
    root = ET.fromstring(
        split_bar("split", [Segment("v1 stable", 90), Segment("v2 canary", 10), Segment("v3", 0)])
    )
    parts = {g.get("data-label"): g for g in root.iter(f"{SVG}g") if g.get("class") == "segment"}
    assert set(parts) == {"v1 stable", "v2 canary"}
    widths = {k: float(g.find(f"{SVG}rect").get("width", 0)) for k, g in parts.items()}  # type: ignore[union-attr]
    assert widths["v1 stable"] == pytest.approx(9 * widths["v2 canary"])
    texts = [t.text for t in root.iter(f"{SVG}text")]
    # inside the bar where the label fits (else the share alone), and every part in the legend
    assert texts == ["v1 stable 90%", "v1 stable 90%", "10%", "v2 canary 10%"]
    # said in words for a screen reader too (the picture is one image to it)
    assert root.findtext(f"{SVG}desc") == "v1 stable 90%, v2 canary 10%"


def test_an_empty_split_says_no_traffic() -> None:
    root = ET.fromstring(split_bar("split", []))
    assert [t.text for t in root.iter(f"{SVG}text")] == ["no traffic"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 1.0),
        (-3, 1.0),
        (0.7, 1.0),
        (1, 1.0),
        (1.2, 2.0),
        (2.2, 2.5),
        (3, 5.0),
        (7, 10.0),
        (30, 50.0),
        (0.013, 0.02),
    ],
)
def test_the_axis_top_is_a_round_number_at_or_above_the_largest_figure(
    value: float, expected: float
) -> None:
    assert _nice_max(value) == pytest.approx(expected)


def _segments(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "segment"]


@pytest.mark.parametrize("canary", [0.5, 1, 2, 5, 8, 10, 12, 15, 17, 20, 25, 33.3, 50])
def test_a_label_inside_the_bar_always_fits_its_part_and_the_legend_names_every_part(
    canary: float,
) -> None:
    """Never a clipped label: inside a part goes its full label, else its share alone, else
    nothing, each only when it fits with room on both sides; the legend has them all."""
    shares = {"v1 stable": 100 - canary, "v2 canary": canary}
    root = ET.fromstring(split_bar("split", [Segment(k, v) for k, v in shares.items()]))
    for g in _segments(root):
        width = float(g.find(f"{SVG}rect").get("width", 0))  # type: ignore[union-attr]
        inside = [t.text or "" for t in g.iter(f"{SVG}text") if t.get("class") != "legend-label"]
        assert all(len(text) * 9.5 + 8 <= width for text in inside), (canary, inside, width)
        (legend,) = [t.text for t in g.iter(f"{SVG}text") if t.get("class") == "legend-label"]
        label = g.get("data-label", "")
        assert legend == f"{label} {figure(float(shares[label]))}%"
    assert len(_segments(root)) == 2


def test_the_legend_wraps_into_rows_inside_the_picture() -> None:
    many = [Segment(f"v{i} canary with a long name", 10) for i in range(10)]
    root = ET.fromstring(split_bar("split", many))
    width = float(root.get("viewBox", "").split()[2])
    height = float(root.get("viewBox", "").split()[3])
    for text in root.iter(f"{SVG}text"):
        if text.get("class") == "legend-label":
            x, y = float(text.get("x", 0)), float(text.get("y", 0))
            assert x + len(text.text or "") * 8.0 <= width
            assert y <= height
    assert len({t.get("y") for t in root.iter(f"{SVG}text") if t.get("class")}) > 1


def test_shares_and_ticks_are_never_in_e_notation() -> None:
    bar = split_bar("split", [Segment("v1", 99.99999), Segment("v2", 0.00001)])
    chart = line_chart("p95", "ms", [Series("a", points(1340.0, 0.00007))])
    texts = [t.text or "" for svg in (bar, chart) for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "2,000" in texts and "v2 0.00001%" in texts
    assert not [t for t in texts if re.search(r"\de[+-]?\d", t)]


def test_a_line_chart_says_each_series_its_style_and_latest_figure_in_words() -> None:
    svg = line_chart(
        "p95 latency",
        "ms",
        [Series("stable p95", points(10, 11)), Series("canary p95", points(12, 1340.0))],
    )
    assert ET.fromstring(svg).findtext(f"{SVG}desc") == (
        "stable p95 (solid line, circles): latest 11 ms; "
        "canary p95 (dashed line, squares): latest 1,340 ms"
    )
