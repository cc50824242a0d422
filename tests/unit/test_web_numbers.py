"""The dashboard's figures: never in e-notation, thousands grouped, small numbers in plain
decimals, at most the asked significant figures."""

from __future__ import annotations

import pytest

from agents.entrypoints.web.numbers import figure, percent


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (None, 3, "-"),
        (True, 3, "true"),
        ("text", 3, "text"),
        (0, 3, "0"),
        (0.0, 3, "0"),
        (-0.0, 3, "0"),
        (7, 3, "7"),
        (1340, 3, "1,340"),
        (1340.0, 3, "1,340"),
        (1.34e3, 3, "1,340"),
        (1234567.8, 3, "1,234,568"),
        (-1340.4, 3, "-1,340"),
        (999.4, 3, "999"),
        (999.7, 3, "1,000"),  # rounding up to a thousand is grouped too
        (21.456, 3, "21.5"),
        (30.9, 3, "30.9"),
        (61.0, 3, "61"),
        (0.41, 3, "0.41"),
        (0.0007, 3, "0.0007"),
        (0.000071234, 3, "0.0000712"),
        (7e-5, 3, "0.00007"),
        (1e-6, 3, "0.000001"),
        (3e-9, 3, "<0.000001"),
        (-3e-9, 3, ">-0.000001"),
        (0.99999, 3, "1"),
        (-0.5, 3, "-0.5"),
        (0.911111, 4, "0.9111"),
        (0.911111, 3, "0.911"),
        (float("nan"), 3, "n/a"),
        (float("inf"), 3, "∞"),
        (float("-inf"), 3, "-∞"),
    ],
)
def test_a_figure_reads_without_exponents(value: object, digits: int, expected: str) -> None:
    assert figure(value, digits) == expected


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (None, "-"),
        (0, "0%"),
        (0.125, "12.5%"),
        (1, "100%"),
        (0.166666, "16.7%"),
        (0.0000001, "0.00001%"),
        (12.34, "1,234%"),
    ],
)
def test_a_share_reads_as_a_percent_without_exponents(share: object, expected: str) -> None:
    assert percent(share) == expected


@pytest.mark.parametrize("exponent", range(-6, 9))
def test_no_power_of_ten_scale_shows_an_exponent(exponent: int) -> None:
    for mantissa in (1.0, 1.234, 5.5, 9.999):
        text = figure(mantissa * 10.0**exponent)
        assert "e" not in text.lower(), text
