"""Names are exact: the model-name rule, look-alike folding, bento names and bounded ids."""

from __future__ import annotations

import hashlib

import pytest

from lifecycle.errors import AmbiguousModelNameError, BadInputError
from lifecycle.names import (
    BENTO_NAME_WIDTH,
    HASH_LENGTH,
    ID_WIDTH,
    MODEL_NAME_MAX,
    MODEL_NAME_PATTERN,
    REQUEST_ID_PATTERN,
    bento_name,
    bento_tag,
    bounded_id,
    check_distinct,
    check_model_name,
    check_request_id,
    fold_model_name,
    is_model_name,
    look_alike,
    make_deployment_id,
    short_hash,
)

LONGEST = "m" * MODEL_NAME_MAX


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def test_the_limits_are_the_columns_and_bentomls() -> None:
    assert (MODEL_NAME_MAX, ID_WIDTH, BENTO_NAME_WIDTH, HASH_LENGTH) == (100, 64, 57, 8)
    assert MODEL_NAME_PATTERN == r"[A-Za-z][A-Za-z0-9_.\-]{0,99}"


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("churn", True),
        ("Churn", True),
        ("c", True),
        ("churn.v2_b-3", True),
        ("churn.", True),
        (LONGEST, True),
        (LONGEST + "m", False),
        ("churn\n", False),
        ("\nchurn", False),
        ("churn ", False),
        (" churn", False),
        ("9lives", False),
        ("_churn", False),
        ("", False),
        ("ch/urn", False),
        ("chürn", False),
        ("churn\x00", False),
    ],
)
def test_a_model_name_is_matched_whole(text: str, valid: bool) -> None:
    assert is_model_name(text) is valid


def test_a_valid_name_is_returned_as_given() -> None:
    assert check_model_name("Churn.v2") == "Churn.v2"


@pytest.mark.parametrize("text", ["churn\n", "9 lives", "", LONGEST + "m"])
def test_an_invalid_name_is_bad_input_in_one_line(text: str) -> None:
    with pytest.raises(BadInputError) as raised:
        check_model_name(text)
    assert str(raised.value) == (
        f"invalid model name {text!r}: start with a letter, then letters, digits, '_', '.', "
        "'-'; at most 100 characters"
    )


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("churn", "churn"),
        ("Churn", "churn"),
        ("CHURN", "churn"),
        ("churn.", "churn"),
        ("churn_-.", "churn"),
        ("churn_v2", "churn-v2"),
        ("churn-v2", "churn-v2"),
        ("Churn..V2", "churn-v2"),
        ("churn2", "churn2"),
        ("-churn", "churn"),
    ],
)
def test_look_alike_names_fold_alike(name: str, folded: str) -> None:
    assert fold_model_name(name) == folded


@pytest.mark.parametrize(
    ("name", "existing", "found"),
    [
        ("Churn", ["churn"], "churn"),
        ("churn.", ["churn"], "churn"),
        ("CHURN", ["iris", "churn"], "churn"),
        ("churn", ["churn"], None),
        ("churn", ["churn", "iris"], None),
        ("churn2", ["churn"], None),
        ("churn", [], None),
        ("churn", ["churn_", "Churn"], "Churn"),
    ],
)
def test_a_look_alike_is_the_first_other_name_that_folds_alike(
    name: str, existing: list[str], found: str | None
) -> None:
    assert look_alike(name, existing) == found


def test_a_distinct_name_passes() -> None:
    assert check_distinct("churn", ["churn", "iris"]) == "churn"


def test_a_look_alike_name_is_refused_naming_the_registered_model() -> None:
    with pytest.raises(AmbiguousModelNameError) as raised:
        check_distinct("Churn", ["churn"])
    assert raised.value.exit_code == 2
    assert str(raised.value) == (
        "model name 'Churn' differs from the registered model 'churn' only by case or "
        "punctuation; use 'churn' or a distinct name"
    )


def test_a_short_hash_is_the_head_of_the_sha256() -> None:
    assert short_hash("churn") == hashlib.sha256(b"churn").hexdigest()[:8]
    assert len(short_hash("x")) == 8


@pytest.mark.parametrize(("readable", "width"), [("a" * 64, 64), ("abc", 3), ("", 64)])
def test_an_id_that_fits_is_kept(readable: str, width: int) -> None:
    assert bounded_id(readable, width) == readable


def test_a_long_id_keeps_its_head_and_a_hash_of_the_whole_within_the_width() -> None:
    readable = "a" * 65
    assert bounded_id(readable) == "a" * 55 + "-" + sha(readable)
    assert len(bounded_id(readable)) == 64
    assert bounded_id("b" * 30, 20) == "b" * 11 + "-" + sha("b" * 30)


def test_a_deployment_id_names_model_version_and_run() -> None:
    assert make_deployment_id("churn", "3", "0123456789abcdef") == "churn-v3-01234567"
    assert make_deployment_id("team-a/fraud", "3", "0123456789abcdef") == "team-a~fraud-v3-01234567"


def test_a_deployment_id_of_the_longest_name_fits_its_column_and_stays_distinct() -> None:
    one = make_deployment_id(LONGEST, "3", "0123456789")
    other = make_deployment_id(LONGEST, "3", "9876543210")
    readable = f"{LONGEST}-v3-01234567"
    assert one == readable[:55] + "-" + sha(readable)
    assert len(one) == len(other) == 64 and one != other


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("churn", "deployer-churn-{h}"),
        ("Churn", "deployer-churn-{h}"),
        ("churn.", "deployer-churn-{h}"),
        ("Churn_V2.b", "deployer-churn-v2-b-{h}"),
        (LONGEST, "deployer-" + "m" * 39 + "-{h}"),
        ("m" * 38 + "_xyz", "deployer-" + "m" * 38 + "-{h}"),
    ],
)
def test_a_bento_name_is_a_slug_and_a_hash_of_the_exact_name(name: str, expected: str) -> None:
    assert bento_name(name) == expected.format(h=sha(name))
    assert len(bento_name(name)) <= BENTO_NAME_WIDTH


def test_names_that_fold_alike_get_different_bento_tags() -> None:
    tags = {bento_tag(n, "1") for n in ("churn", "Churn", "CHURN", "churn.", "churn_")}
    assert len(tags) == 5
    assert bento_tag("churn", "2") == f"deployer-churn-{sha('churn')}:v2"


@pytest.mark.parametrize("text", ["r1", "7", "parent-run:step.2_b", "A" * 64, "0" + "x" * 63])
def test_a_request_id_is_kept_as_given(text: str) -> None:
    assert check_request_id(text) == text


@pytest.mark.parametrize("text", ["", "-r1", ":r1", "r1\n", "r 1", "r/1", "A" * 65, "r1\x00", "é"])
def test_any_other_request_id_is_bad_input_in_one_line(text: str) -> None:
    assert REQUEST_ID_PATTERN == r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}"
    with pytest.raises(BadInputError) as raised:
        check_request_id(text)
    assert str(raised.value) == (
        f"invalid request id {text!r}: a letter or digit, then letters, digits, '_', '.', ':', "
        "'-'; at most 64 characters"
    )
