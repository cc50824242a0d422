"""A retraining run's data files: the window's labelled requests as feature rows named by the
production version's signature and a ``label`` column, split by request id into a training
file and a held-out file (``lifecycle.retraining_eval.is_holdout``: the same window always
splits the same way). Only requests of one row with a readable label are used: a label belongs
to a request, so a batch request has none per row.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.private import ensure_private_dir
from database.retraining_data import LabelledRequest
from lifecycle.capture import column_rows
from lifecycle.quality import as_label
from lifecycle.retraining_eval import is_holdout

LABEL_COLUMN = "label"


@dataclass
class Split:
    """Feature rows (with ``label``) to train on and to hold out, and the requests skipped."""

    train: list[dict[str, Any]] = field(default_factory=list)
    holdout: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0


def split_rows(requests: Sequence[LabelledRequest], columns: Sequence[str]) -> Split:
    split = Split()
    for request in requests:
        label, rows = as_label(request.label), column_rows(request.inputs, columns)
        if label is None or rows is None or len(rows) != 1:
            split.skipped += 1
            continue
        row = {**dict(zip(columns, rows[0], strict=True)), LABEL_COLUMN: label}
        (split.holdout if is_holdout(request.request_id) else split.train).append(row)
    return split


def write_rows(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """Write ``rows`` as CSV (the columns, then ``label``) in a private folder; the path."""
    ensure_private_dir(path.parent)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[*columns, LABEL_COLUMN])
        writer.writeheader()
        writer.writerows(rows)
    path.chmod(0o600)
    return str(path)


def read_rows(path: str) -> list[dict[str, Any]]:
    """The rows of a file ``write_rows`` wrote, numbers read back as numbers."""
    with Path(path).open(newline="", encoding="utf-8") as source:
        return [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(source)]


def _value(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text
