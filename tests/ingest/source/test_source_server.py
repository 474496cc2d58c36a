"""The project's own PostgreSQL server: lifecycle, idempotent restore, clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from foundation.errors import DumpNotFoundError
from ingest.source import LocalPostgres


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[LocalPostgres]:
    """A server of this test's own: stopping it must not pull the session server from under others."""
    server = LocalPostgres(state_dir=tmp_path / "pg")
    server.start()
    yield server
    server.destroy()


def test_restore_happens_once_and_survives_restart(own_server: LocalPostgres) -> None:
    pg_server = own_server
    port = pg_server.state.port
    assert pg_server.is_running()
    assert pg_server.ensure_sample_restored() is False  # already there: no second restore
    with pg_server.connect() as conn:
        assert conn.execute("SELECT count(*) FROM rental").fetchone() == (16044,)
    pg_server.stop()
    assert not pg_server.is_running()
    dsn = pg_server.start()
    assert pg_server.is_running() and dsn == pg_server.dsn()
    assert pg_server.state.port == port  # same DSN after a restart
    with pg_server.connect() as conn:
        assert conn.execute("SELECT count(*) FROM payment").fetchone() == (14596,)


def test_dsn_carries_no_password(pg_server: LocalPostgres) -> None:
    secret = pg_server.passfile.read_text().strip().rsplit(":", 1)[1]
    assert secret not in pg_server.dsn()
    assert oct(pg_server.passfile.stat().st_mode & 0o777) == "0o600"


def test_missing_dump_says_where_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVDRENTAL_DUMP", str(tmp_path / "nowhere.tar"))
    server = LocalPostgres(state_dir=tmp_path / "pg")
    try:
        with pytest.raises(DumpNotFoundError, match=r"DVDRENTAL_DUMP=.*nowhere\.tar.*dvdrental\.tar.*dvdrental\.zip"):
            server.start()
        # Checked before initdb: no server was set up or started for a restore that cannot happen.
        assert not server.initialized and not server.is_running()
    finally:
        server.destroy()


def test_warehouse_named_like_a_schema_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from foundation.errors import ConfigError
    from foundation.paths import warehouse_path

    monkeypatch.setenv("DVD_WAREHOUSE_PATH", str(tmp_path / "bronze.duckdb"))
    with pytest.raises(ConfigError, match=r"DVD_WAREHOUSE_PATH=.*bronze\.duckdb.*clashes with a schema"):
        warehouse_path()
