"""``deployer package --export`` says how big the archive is, in the largest unit that fits."""

from __future__ import annotations

import pytest

from agents.entrypoints.cli.app import size_text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (12_595, "12.3 KiB"),
        (5 * 1024**2 + 512 * 1024, "5.5 MiB"),
        (3 * 1024**3, "3.0 GiB"),
    ],
)
def test_a_size_reads_in_the_largest_unit_that_fits(size: int, text: str) -> None:
    assert size_text(size) == text
