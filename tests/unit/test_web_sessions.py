"""The dashboard's session tokens: random ids and nonces, CSRF tokens derived from them (never
stored, never showing them), compared exactly. The rows themselves are tested on SQLite and
PostgreSQL in tests/integration/test_web_ui.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.entrypoints.web.sessions import UiSession, form_token, login_nonce, token_matches
from database.ui_sessions import session_hash
from lifecycle.approval import Role
from lifecycle.tenants import Grants

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _session(session_id: str) -> UiSession:
    return UiSession(
        session_id, "tok-0123", "vera", Grants.of("vera", [("default", Role.VIEWER)]), NOW
    )


def test_nonces_are_random_and_long() -> None:
    a, b = login_nonce(), login_nonce()
    assert a != b and len(a) >= 40


def test_a_session_s_csrf_token_is_its_own_and_shows_nothing_of_its_id() -> None:
    a, b = _session("id-a" * 10), _session("id-b" * 10)
    assert a.csrf != b.csrf
    assert a.csrf == _session("id-a" * 10).csrf  # the same on every replica: nothing stored
    assert "id-a" not in a.csrf
    assert a.csrf != session_hash(a.session_id)  # the stored hash is not the form's token


def test_each_purpose_has_its_own_token_for_one_secret() -> None:
    assert form_token("s" * 43, "csrf") != form_token("s" * 43, "login")


@pytest.mark.parametrize(
    ("given", "secret", "purpose", "matches"),
    [
        (form_token("nonce", "login"), "nonce", "login", True),
        (form_token("nonce", "login"), "nonce", "csrf", False),  # another purpose's
        (form_token("nonce", "login"), "other", "login", False),  # another secret's
        (form_token("nonce", "login")[:-1], "nonce", "login", False),
        (form_token("nonce", "login") + "0", "nonce", "login", False),
        ("", "nonce", "login", False),
        (form_token("nonce", "login"), None, "login", False),  # no cookie: nothing matches
        (form_token("", "login"), "", "login", False),
    ],
)
def test_a_form_token_matches_only_its_secret_and_purpose_exactly(
    given: str, secret: str | None, purpose: str, matches: bool
) -> None:
    assert token_matches(given, secret, purpose) is matches


def test_the_csrf_token_must_match_exactly() -> None:
    s = _session("x" * 43)
    assert s.csrf_ok(s.csrf)
    assert not s.csrf_ok("") and not s.csrf_ok(s.csrf[:-1]) and not s.csrf_ok(s.csrf + "x")


def test_the_stored_hash_is_the_sha256_of_the_id() -> None:
    assert session_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
