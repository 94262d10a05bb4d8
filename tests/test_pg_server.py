"""The private PostgreSQL server of the test session (tests/pg_server.py)."""

from __future__ import annotations

import psycopg
import pytest

from pg_server import PASSWORD, PASSWORD_ROLE, PgServer


def test_the_server_is_private_and_listens_on_loopback_only(pg_server: PgServer, pg_url: str) -> None:
    assert pg_server.port != 5432
    with psycopg.connect(pg_url) as conn:
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses', 'unix_socket_directories')"
            ).fetchall()
        )
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(pg_server.root / "socket"),
    }


def test_each_test_gets_a_fresh_database(pg_server: PgServer) -> None:
    first, second = pg_server.create_database(), pg_server.create_database()
    assert first != second
    with psycopg.connect(first) as conn:
        conn.execute("CREATE TABLE marker (x int)")
    with psycopg.connect(second) as conn:
        assert conn.execute("SELECT to_regclass('marker')").fetchone() == (None,)


def test_the_password_role_needs_its_password(pg_server: PgServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(pg_server.url(user=PASSWORD_ROLE), connect_timeout=5)
    with psycopg.connect(pg_server.url(user=PASSWORD_ROLE, password=PASSWORD)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (PASSWORD_ROLE,)
