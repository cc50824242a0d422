"""Reference files are read, checked and sampled before anything is written: a bad one is refused
with one line (exit code 2), a good one gives the same sample every time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlops.reference_data import ReferenceDataError, read_reference

COLUMNS = ["a", "b"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ref.csv", "x,y\n1,2\n", r"lacks the model's columns \['a', 'b'\]"),
        ("ref.csv", "", "cannot read reference ref.csv"),
        ("ref.csv", "a,b\n", "has no complete rows"),
        ("ref.csv", "a,b\n1,\n", "has no complete rows"),
        ("ref.txt", "a,b\n1,2\n", "use a .csv or .parquet file"),
        ("ref.parquet", "not parquet", "cannot read reference ref.parquet"),
        ("ref.csv", "a,b\n1,inf\n", "not a finite number"),
    ],
)
def test_a_bad_reference_file_is_refused_in_one_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ReferenceDataError, match=message) as raised:
        read_reference(path, 100, COLUMNS)
    assert "\n" not in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="does not exist"):
        read_reference(tmp_path / "nope.csv", 100, None)


def test_a_parquet_file_is_sampled_reproducibly_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "ref.parquet"
    pd.DataFrame({"b": range(1000), "a": range(1000, 2000), "label": 1}).to_parquet(path)
    first = read_reference(path, 10, COLUMNS)
    assert first == read_reference(path, 10, COLUMNS)
    assert first.columns == COLUMNS  # the model's order; the label is dropped
    assert (len(first.rows), first.source_rows) == (10, 1000)
    assert [r[1] for r in first.rows] == sorted(r[1] for r in first.rows)
    assert all(a == b + 1000 for a, b in first.rows)


def test_without_a_signature_every_column_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "ref.csv"
    path.write_text("x,colour\n1.5,red\n2.5,blue\n")
    sample = read_reference(path, 100, None)
    assert (sample.columns, sample.rows) == (["x", "colour"], [[1.5, "red"], [2.5, "blue"]])
