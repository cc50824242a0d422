"""Redaction: no password or secret query value of a URI reaches any output."""

from __future__ import annotations

import pytest

from lifecycle.redaction import SECRET_WORDS, is_secret_name, redact_text, redact_uri


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        (
            "postgresql+psycopg://app:s3cret@db:5432/deployer",
            "postgresql+psycopg://app:***@db:5432/deployer",
        ),
        ("http://bob:p@ss:w/rd@mlflow:5000", "http://bob:***@mlflow:5000"),
        ("https://alice:pw@host/path?page=2", "https://alice:***@host/path?page=2"),
        ("postgresql://app@db/deployer", "postgresql://app@db/deployer"),
        ("postgresql://app:@db/deployer", "postgresql://app:@db/deployer"),
        ("http://mlflow:5000", "http://mlflow:5000"),
        ("http://mlflow:5000/a@b", "http://mlflow:***@b"),
        ("sqlite:////home/me/.deployer/deployer.db", "sqlite:////home/me/.deployer/deployer.db"),
        ("sqlite:///tmp/a@b:c.db", "sqlite:///tmp/a@b:c.db"),
        ("postgresql://db/x?password=hunter2", "postgresql://db/x?password=***"),
        (
            "postgresql://db/x?sslmode=require&PASSWORD=a",
            "postgresql://db/x?sslmode=require&PASSWORD=***",
        ),
        ("http://h/?token=t&page=2#top", "http://h/?token=***&page=2#top"),
        ("http://h/?a=1#token=t", "http://h/?a=1#token=t"),
        ("http://h/?token&token=", "http://h/?token&token="),
        ("http://u:p@h/?sslkey=k&x=y", "http://u:***@h/?sslkey=***&x=y"),
        ("runs:/abc/model?token=t", "runs:/abc/model?token=***"),
        ("http://h/?token=a=b", "http://h/?token=***"),
        ("http://h/?token=t?x", "http://h/?token=***"),
        ("http://h/?token=t#frag", "http://h/?token=***#frag"),
        ("http://u:p@h/?next=http://x", "http://u:***@h/?next=http://x"),
        ("runs:/abc/model", "runs:/abc/model"),
        ("", ""),
    ],
)
def test_a_uri_is_shown_without_its_password_or_secret_query_values(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("Passwd", True),
        ("pwd", True),
        ("access_token", True),
        ("client_secret", True),
        ("sslkey", True),
        ("AUTH", True),
        ("credentials", True),
        ("X-Amz-Signature", True),
        ("page", False),
        ("sslmode", False),
        ("", False),
    ],
)
def test_a_query_parameter_is_secret_when_its_name_says_so(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_every_secret_word_is_one_a_name_is_judged_by() -> None:
    assert SECRET_WORDS == (
        "pass",
        "pwd",
        "token",
        "secret",
        "key",
        "auth",
        "credential",
        "signature",
    )
    assert all(is_secret_name(word.upper()) for word in SECRET_WORDS)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "cannot reach http://bob:pw@mlflow:5000/api: refused",
            "cannot reach http://bob:***@mlflow:5000/api: refused",
        ),
        (
            "'postgresql://a:b@h/d' and \"http://c:d@e/?token=f\"",
            "'postgresql://a:***@h/d' and \"http://c:***@e/?token=***\"",
        ),
        ("no uri here: a:b@c", "no uri here: a:b@c"),
        (
            "with url: /?token=s3cret/api/get&run_id=1 (refused)",
            "with url: /?token=***&run_id=1 (refused)",
        ),
        ("/get?page=2&api_key=k'", "/get?page=2&api_key=***'"),
        ("/get?page=2&token=", "/get?page=2&token="),
        ("a token=t outside a query", "a token=t outside a query"),
        ("", ""),
    ],
)
def test_every_uri_in_a_message_is_redacted(text: str, shown: str) -> None:
    assert redact_text(text) == shown
