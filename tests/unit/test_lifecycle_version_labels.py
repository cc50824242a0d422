"""Semantic version labels and the ways a person names a version (issue 15)."""

from __future__ import annotations

import pytest

from lifecycle.errors import BadInputError
from lifecycle.version_labels import (
    InvalidLabelError,
    Label,
    RefKind,
    VersionRef,
    bump_patch,
    parse_label,
    parse_version_ref,
)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("1.2.0", Label(1, 2, 0)),
        ("v1.2.0", Label(1, 2, 0)),
        ("V0.0.1", Label(0, 0, 1)),
        (" 10.20.30 ", Label(10, 20, 30)),
        ("0.0.0", Label(0, 0, 0)),
    ],
)
def test_a_label_reads_major_minor_patch(text: str, label: Label) -> None:
    assert parse_label(text) == label


@pytest.mark.parametrize(
    "text", ["1.2", "1.2.0.0", "01.2.0", "1.02.0", "1.2.-1", "1.2.0-rc1", "", "latest", "vv1.2.0"]
)
def test_anything_else_is_not_a_label(text: str) -> None:
    with pytest.raises(InvalidLabelError, match=r"MAJOR\.MINOR\.PATCH"):
        parse_label(text)


def test_an_invalid_label_is_bad_input() -> None:
    assert issubclass(InvalidLabelError, BadInputError)


def test_a_label_prints_without_the_v() -> None:
    assert str(parse_label("v3.4.5")) == "3.4.5"


@pytest.mark.parametrize(
    ("label", "bumped"),
    [(Label(1, 2, 0), Label(1, 2, 1)), (Label(0, 0, 9), Label(0, 0, 10))],
)
def test_retraining_bumps_the_patch(label: Label, bumped: Label) -> None:
    assert bump_patch(label) == bumped


def test_labels_order_as_semantic_versions() -> None:
    assert sorted([Label(1, 10, 0), Label(1, 2, 0), Label(0, 9, 9)]) == [
        Label(0, 9, 9),
        Label(1, 2, 0),
        Label(1, 10, 0),
    ]


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("latest", VersionRef(RefKind.LATEST, "latest")),
        ("LATEST", VersionRef(RefKind.LATEST, "latest")),
        ("3", VersionRef(RefKind.NUMBER, "3")),
        ("v3", VersionRef(RefKind.NUMBER, "3")),
        ("007", VersionRef(RefKind.NUMBER, "7")),
        ("1.2.0", VersionRef(RefKind.LABEL, "1.2.0")),
        ("v1.2.0", VersionRef(RefKind.LABEL, "1.2.0")),
    ],
)
def test_a_version_is_named_by_number_label_or_latest(text: str, ref: VersionRef) -> None:
    assert parse_version_ref(text) == ref


@pytest.mark.parametrize("text", ["", "newest", "1.2", "v", "3a", "1.2.0; drop", "-1"])
def test_any_other_version_name_is_bad_input(text: str) -> None:
    with pytest.raises(InvalidLabelError, match=r"number .* label .* latest"):
        parse_version_ref(text)
