"""The one JSON encoding: what the CLI prints, the API answers and JSON columns keep."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from lifecycle.jsonable import jsonable
from lifecycle.stages import ModelStage

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_bare_datetime_keeps_the_isoformat_the_cli_and_api_always_wrote() -> None:
    assert jsonable({"at": AT, "nested": [(AT,)]}) == {
        "at": "2026-01-02T03:04:05+00:00",
        "nested": [["2026-01-02T03:04:05+00:00"]],
    }


def test_enums_paths_dates_tuples_sets_and_keys_become_plain_json() -> None:
    value = {1: (ModelStage.STAGING, Path("/x"), date(2026, 1, 2)), "s": frozenset({3})}

    assert jsonable(value) == {"1": ["staging", "/x", "2026-01-02"], "s": [3]}
    assert json.loads(json.dumps(jsonable(value))) == jsonable(value)
