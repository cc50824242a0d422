"""The PostgreSQL fixture gives a real, writable server."""

import psycopg
import pytest


@pytest.mark.postgres
def test_postgres_database_is_real_and_writable(postgres_url: str) -> None:
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
        row = conn.execute("SELECT version(), count(*) FROM t").fetchone()
    assert row is not None
    assert "PostgreSQL" in row[0]
    assert row[1] == 1
