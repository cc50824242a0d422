"""The dashboard's session store: random ids, expiry, logout, CSRF in constant time, bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agents.entrypoints.web import sessions
from agents.entrypoints.web.sessions import SessionStore

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_a_session_has_random_ids_and_never_shows_its_token_in_the_id() -> None:
    store = SessionStore(60)
    a, b = store.open("tok-a", NOW), store.open("tok-a", NOW)
    assert a.session_id != b.session_id and a.csrf != b.csrf
    assert "tok-a" not in a.session_id and len(a.session_id) >= 40
    assert store.get(a.session_id, NOW) == a


def test_a_session_ends_at_its_expiry_and_at_logout() -> None:
    store = SessionStore(60)
    s = store.open("tok", NOW)
    assert store.get(s.session_id, NOW + timedelta(seconds=59)) is not None
    assert store.get(s.session_id, NOW + timedelta(seconds=60)) is None
    t = store.open("tok", NOW)
    store.close(t.session_id)
    assert store.get(t.session_id, NOW) is None
    assert store.get("", NOW) is None and store.get(None, NOW) is None


def test_the_csrf_token_must_match_exactly() -> None:
    s = SessionStore(60).open("tok", NOW)
    assert s.csrf_ok(s.csrf)
    assert not s.csrf_ok("") and not s.csrf_ok(s.csrf[:-1]) and not s.csrf_ok(s.csrf + "x")


def test_a_login_flood_drops_the_oldest_sessions_not_memory(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sessions, "MAX_SESSIONS", 3)
    store = SessionStore(60)
    opened = [store.open("tok", NOW + timedelta(seconds=i)) for i in range(5)]
    assert len(store) == 3
    assert store.get(opened[0].session_id, NOW) is None
    assert store.get(opened[4].session_id, NOW) is not None


def test_expired_sessions_are_dropped_when_a_new_one_opens() -> None:
    store = SessionStore(10)
    store.open("tok", NOW)
    store.open("tok", NOW + timedelta(seconds=30))
    assert len(store) == 1
