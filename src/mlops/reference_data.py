"""A version's reference sample: read from a CSV or Parquet file, or from the dataset its MLflow
run logged as an input (``mlflow.log_input``), checked against the model's signature and
sampled reproducibly to at most ``max_rows`` rows.

Every refusal is a one-line ``ReferenceDataError`` raised before anything is written.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecycle.errors import BadInputError
from mlops.mlflow_env import tracking

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
SEED = 14
"""The sampling seed: the same file gives the same reference sample every time."""


class ReferenceDataError(BadInputError):
    """A reference file that cannot be the version's reference: missing, of an unknown kind,
    empty, unreadable, or with columns other than the model's. Nothing was written."""


@dataclass(frozen=True)
class ReferenceSample:
    """Rows (lists in ``columns`` order, plain Python values), where they came from, and how
    many rows the source had before sampling."""

    columns: list[str]
    rows: list[list[Any]]
    source: str
    source_rows: int


def read_frame(path: Path) -> Any:
    """A CSV or Parquet file as a DataFrame; refused with one line when it cannot be one."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ReferenceDataError(f"cannot read reference {path.name}: use a .csv or .parquet file")
    if not path.is_file():
        raise ReferenceDataError(f"reference file {path} does not exist")
    import pandas as pd

    try:
        return pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    except Exception as exc:  # pandas and pyarrow raise many kinds for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReferenceDataError(f"cannot read reference {path.name}: {first}") from None


def to_sample(
    frame: Any, source: str, max_rows: int, expected: list[str] | None
) -> ReferenceSample:
    """Check ``frame``'s columns against the model's (``expected``, when it has a signature;
    extra columns such as a label are dropped), drop rows with missing values, and sample at
    most ``max_rows`` rows reproducibly (kept in file order)."""
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if expected:
        missing = [c for c in expected if c not in columns]
        if missing:
            raise ReferenceDataError(
                f"the reference ({source}) lacks the model's columns {missing}; it has {columns}"
            )
        frame, columns = frame[expected], list(expected)
    frame = frame.dropna()
    if not columns or frame.empty:
        raise ReferenceDataError(f"the reference ({source}) has no complete rows")
    total = len(frame)
    if total > max_rows:
        frame = frame.sample(n=max_rows, random_state=SEED).sort_index()
    rows = [[_plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return ReferenceSample(columns, rows, source, total)


def _plain(value: Any) -> Any:
    """A JSON-ready value (numpy scalars to Python; non-finite numbers refused)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not math.isfinite(value):
        raise ReferenceDataError(f"the reference holds {value}, not a finite number")
    return value


def signature_columns(tracking_uri: str, model_uri: str) -> list[str] | None:
    """The input column names of the model's signature, or None when it has none by name."""
    from mlflow.models import get_model_info

    try:
        with tracking(tracking_uri):
            signature = get_model_info(model_uri).signature
    except Exception:  # the registry judges the URI itself; no signature is no check
        return None
    if signature is None or signature.inputs is None:
        return None
    names = [str(n) for n in signature.inputs.input_names()]
    return names if names and all(not n.isdigit() for n in names) else None


def read_reference(path: Path, max_rows: int, expected: list[str] | None) -> ReferenceSample:
    """A reference file given at register, checked and sampled."""
    return to_sample(read_frame(path), f"file:{path.resolve()}", max_rows, expected)


def logged_reference(
    tracking_uri: str, run_id: str, max_rows: int, expected: list[str] | None
) -> ReferenceSample | None:
    """The first dataset the run logged as an input (training context first), or None when it
    logged none. Its source is downloaded to a temporary folder and read as a file."""
    from mlflow import MlflowClient
    from mlflow.data import get_source

    with tracking(tracking_uri):
        run = MlflowClient(tracking_uri=tracking_uri).get_run(run_id)
        inputs = list(run.inputs.dataset_inputs) if run.inputs else []
        if not inputs:
            return None
        inputs.sort(key=lambda d: not any(t.value == "training" for t in d.tags))
        dataset = inputs[0].dataset
        with tempfile.TemporaryDirectory() as tmp:
            source: Any = get_source(dataset)  # a file or artifact source: load takes dst_path
            local = Path(str(source.load(dst_path=tmp)))
            frame = read_frame(local)
    return to_sample(frame, f"mlflow:{dataset.name}@{dataset.digest}", max_rows, expected)
