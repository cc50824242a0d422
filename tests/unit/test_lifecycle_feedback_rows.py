"""Feedback files read as rows that name their line: CSV with a header, or JSON lines."""

from __future__ import annotations

import pytest

from lifecycle.errors import BadInputError
from lifecycle.feedback_rows import body_rows, feedback_rows

READ = {
    "csv": ("request_id,label\nr1,1\n\nr2,cat\n", [("line 2", "r1", "1"), ("line 4", "r2", "cat")]),
    "csv, other columns and order": (
        "label,source,request_id\n0,app,r1\n",
        [("line 2", "r1", "0")],
    ),
    "json lines after a blank line": (
        '\n  {"request_id": "r1", "label": 1}\n',
        [("line 2", "r1", 1)],
    ),
    "json lines": (
        '{"request_id": "r1", "label": 1}\n\n{"label": "x", "request_id": "r2"}\n',
        [("line 1", "r1", 1), ("line 3", "r2", "x")],
    ),
}


@pytest.mark.parametrize(("text", "rows"), READ.values(), ids=READ.keys())
def test_a_file_reads_as_rows_naming_their_line(text: str, rows: list[object]) -> None:
    assert feedback_rows(text) == rows


REFUSED = {
    "an empty file": ("", r"^line 1: the CSV header must name request_id and label$"),
    "no label column": ("request_id,truth\nr1,1\n", r"^line 1: the CSV header must name"),
    "no header": ("r1,1\n", r"^line 1: the CSV header must name request_id and label$"),
    "a short row": ("request_id,label\nr1,1\nr2\n", r"^line 3: 1 fields, the header has 2$"),
    "an unclosed quote": ('request_id,label\nr1,"1\n', r"^line \d: not CSV"),
    "json, not an object": ('{"request_id": "r1", "label": 1}\n[1]\n', r"^line 2: expected"),
    "json, broken": ('{"request_id": "r1", "label": 1}\n{"request_id"\n', r"^line 2: not JSON"),
    "json, an extra key": ('{"request_id": "r1", "label": 1, "by": "x"}\n', r"^line 1: expected"),
}


@pytest.mark.parametrize(("text", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_a_malformed_file_is_refused_at_its_line(text: str, says: str) -> None:
    with pytest.raises(BadInputError, match=says):
        feedback_rows(text)


def test_a_body_s_items_are_named_from_one() -> None:
    assert body_rows([{"request_id": "a", "label": 1}]) == [("item 1", "a", 1)]
    with pytest.raises(BadInputError, match=r"^item 2: expected"):
        body_rows([{"request_id": "a", "label": 1}, {"request_id": "b"}])
