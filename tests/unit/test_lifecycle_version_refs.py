"""How a version a person named becomes an MLflow number, and when a label may be given
(issue 15): ``resolve_ref``, ``check_label_free``, ``check_relabel``."""

from __future__ import annotations

import pytest

from lifecycle.errors import BadInputError, ConflictError, UnknownModelError
from lifecycle.version_labels import (
    LabelTakenError,
    UnknownVersionError,
    check_label_free,
    check_relabel,
    describe_version,
    parse_label,
    parse_version_ref,
    resolve_ref,
)

IRIS = {"1": "1.0.0", "2": None, "3": "1.2.0", "10": "1.10.0"}


@pytest.mark.parametrize(
    ("asked", "number"),
    [
        ("3", "3"),
        ("v3", "3"),
        ("V10", "10"),
        ("1.2.0", "3"),
        ("v1.2.0", "3"),
        ("1.10.0", "10"),
        ("latest", "10"),
        ("LATEST", "10"),
        (" 2 ", "2"),
    ],
)
def test_a_version_is_named_by_number_label_or_latest(asked: str, number: str) -> None:
    assert resolve_ref("iris", parse_version_ref(asked), IRIS) == number


def test_latest_is_the_highest_number_not_the_last_written() -> None:
    assert resolve_ref("iris", parse_version_ref("latest"), {"9": None, "10": None}) == "10"


@pytest.mark.parametrize(
    ("asked", "error", "message"),
    [
        pytest.param("4", UnknownModelError, "iris has no version '4'", id="number"),
        pytest.param(
            "2.0.0",
            UnknownVersionError,
            "iris has no version labelled 2.0.0 (its labels: 1.10.0, 1.2.0, 1.0.0)",
            id="label, the labels newest first",
        ),
    ],
)
def test_an_unknown_number_or_label_is_bad_input_naming_the_labels(
    asked: str, error: type[UnknownModelError], message: str
) -> None:
    with pytest.raises(error) as raised:
        resolve_ref("iris", parse_version_ref(asked), IRIS)
    assert str(raised.value) == message
    assert raised.value.exit_code == 2


def test_a_model_without_labels_says_so() -> None:
    with pytest.raises(UnknownVersionError) as raised:
        resolve_ref("iris", parse_version_ref("1.0.0"), {"1": None})
    assert str(raised.value) == "iris has no version labelled 1.0.0 (it has no labels)"


@pytest.mark.parametrize("asked", ["latest", "1", "1.0.0"])
def test_a_model_without_versions_is_unknown(asked: str) -> None:
    with pytest.raises(UnknownModelError, match=r"no model named 'ghost'"):
        resolve_ref("ghost", parse_version_ref(asked), {})


@pytest.mark.parametrize("asked", ["1.2", "v", "3a", "-1", "1.2.0; drop", "newest", ""])
def test_a_malformed_version_is_bad_input(asked: str) -> None:
    with pytest.raises(BadInputError, match=r"number \(3 or v3\), its label"):
        parse_version_ref(asked)


@pytest.mark.parametrize(
    ("version", "label", "refused"),
    [
        ("2", "1.1.0", False),  # free
        ("3", "1.2.0", False),  # its own label again
        ("2", "1.2.0", True),  # v3's
        ("2", "v1.0.0", True),  # v1's, written with a v
    ],
)
def test_a_label_is_unique_per_model(version: str, label: str, refused: bool) -> None:
    if refused:
        with pytest.raises(LabelTakenError, match=r"already labelled .*unique per model"):
            check_label_free("iris", version, parse_label(label), IRIS)
    else:
        check_label_free("iris", version, parse_label(label), IRIS)


@pytest.mark.parametrize(
    ("current", "label", "force", "refused"),
    [
        (None, "1.0.0", False, False),  # first label
        ("1.0.0", "1.0.0", False, False),  # the same again: nothing changes
        ("1.0.0", "1.0.1", False, True),  # a relabel is said out loud
        ("1.0.0", "1.0.1", True, False),
    ],
)
def test_a_labelled_version_keeps_its_label_unless_forced(
    current: str | None, label: str, force: bool, refused: bool
) -> None:
    if refused:
        with pytest.raises(LabelTakenError) as raised:
            check_relabel("iris", "1", current, parse_label(label), force)
        assert str(raised.value) == (
            "iris v1 is already labelled 1.0.0; give --force to change its label"
        )
    else:
        check_relabel("iris", "1", current, parse_label(label), force)


def test_a_taken_label_is_a_conflict() -> None:
    assert issubclass(LabelTakenError, ConflictError)
    assert LabelTakenError("x").exit_code == 3


@pytest.mark.parametrize(
    ("version", "label", "shown"), [("3", "1.2.0", "v3 (1.2.0)"), ("3", None, "v3")]
)
def test_a_version_is_shown_with_its_label(version: str, label: str | None, shown: str) -> None:
    assert describe_version(version, label) == shown
