"""Feedback files and bodies read as rows: ``(where, request_id, label)``, where names the
line (``line 3``) or the item (``item 2``) a refusal points at. Pure text in, rows out; the
values are judged by ``lifecycle.quality.check_batch``.

A CSV file has a header naming ``request_id`` and ``label`` (other columns are ignored); a JSON
lines file holds one ``{"request_id": ..., "label": ...}`` object a line. A text starting with
``{`` is read as JSON lines.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from lifecycle.errors import BadInputError

Row = tuple[str, Any, Any]


def feedback_rows(text: str) -> list[Row]:
    """The rows of a CSV or JSON lines text."""
    return json_lines_rows(text) if text.lstrip()[:1] == "{" else csv_rows(text)


def csv_rows(text: str) -> list[Row]:
    """CSV with a header line; every row needs both columns."""
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if "request_id" not in header or "label" not in header:
            raise BadInputError("line 1: the CSV header must name request_id and label")
        rid, lab = header.index("request_id"), header.index("label")
        rows: list[Row] = []
        for cells in reader:
            where = f"line {reader.line_num}"
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise BadInputError(f"{where}: {len(cells)} fields, the header has {len(header)}")
            rows.append((where, cells[rid], cells[lab]))
    except csv.Error as exc:
        raise BadInputError(f"line {reader.line_num}: not CSV ({exc})") from None
    return rows


def json_lines_rows(text: str) -> list[Row]:
    """One JSON object a line, with ``request_id`` and ``label``."""
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            item = json.loads(line)
        except ValueError:
            raise BadInputError(f"{where}: not JSON") from None
        rows.append(item_row(item, where))
    return rows


def item_row(item: Any, where: str) -> Row:
    """One ``{"request_id", "label"}`` object as a row."""
    if not isinstance(item, dict) or set(item) != {"request_id", "label"}:
        raise BadInputError(f"{where}: expected an object with request_id and label only")
    return (where, item["request_id"], item["label"])


def body_rows(items: Sequence[Any]) -> list[Row]:
    """The API's batch (a list of objects) as rows, named ``item N`` (from 1)."""
    return [item_row(item, f"item {n}") for n, item in enumerate(items, start=1)]
