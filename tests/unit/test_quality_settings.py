"""The quality settings: defaults, per-model task types, and a bad value refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.settings import Settings


def test_the_quality_defaults() -> None:
    s = Settings()
    assert (s.quality_margin, s.quality_min_labelled, s.quality_window_seconds) == (
        0.05,
        50,
        86400.0,
    )
    assert s.quality_tasks == {}


def test_per_model_task_types_are_read_from_one_variable() -> None:
    s = Settings(DEPLOYER_QUALITY_TASKS=" house=Regression, iris=classification ,")
    assert s.quality_tasks == {"house": "regression", "iris": "classification"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEPLOYER_QUALITY_TASKS", "iris=ranking"),
        ("DEPLOYER_QUALITY_TASKS", "=regression"),
        ("DEPLOYER_QUALITY_TASKS", "iris"),
        ("DEPLOYER_QUALITY_MARGIN", "-0.1"),
        ("DEPLOYER_QUALITY_MIN_LABELLED", "0"),
        ("DEPLOYER_QUALITY_WINDOW_SECONDS", "0"),
    ],
)
def test_a_bad_quality_setting_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(**{name: value})
