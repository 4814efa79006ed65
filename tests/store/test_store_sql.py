"""What ``SqlStore`` promises beyond the shared contract: which URLs it takes and how it shows them,
SQLite's journal mode, and the schema version check. Runs on SQLite files only."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from gitloop.errors import GitloopError, UsageError
from gitloop.store import database_url, masked, open_store
from gitloop.store.schema import SCHEMA_VERSION
from gitloop.store.urls import mask_text, scrub


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:p@db.example:5432/gitloop", "postgresql+psycopg"),
        ("postgres://u:p@db.example/gitloop", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@db.example/gitloop?sslmode=require", "postgresql+psycopg"),
        ("sqlite:////var/lib/gitloop/gitloop.db", "sqlite+pysqlite"),
        ("/var/lib/gitloop/gitloop.db", "sqlite+pysqlite"),
    ],
)
def test_database_url_normalises_drivers(given: str, driver: str) -> None:
    assert database_url(given).drivername == driver


def test_a_plain_path_is_an_absolute_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_url("state/gitloop.db").database == str(tmp_path / "state" / "gitloop.db")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert database_url("~/g.db").database == str(tmp_path / "g.db")


@pytest.mark.parametrize(
    "given",
    [
        "",
        ":memory:",
        "sqlite://",
        "sqlite:///:memory:",
        "mysql://u:hunter2@db/gitloop",
        "postgresql+psycopg2://u:hunter2@db/gitloop",
        "postgresql://u:hunter2@db",
        "postgresql://u:hunter2@db:notaport/x",
    ],
)
def test_unusable_urls_are_usage_errors_without_the_password(given: str) -> None:
    with pytest.raises(UsageError) as caught:
        database_url(given)
    assert "hunter2" not in str(caught.value)


def test_masked_hides_passwords_in_userinfo_and_query() -> None:
    url = database_url("postgresql://user:p%40ss@db:5432/gitloop?password=q&sslmode=require")
    shown = masked(url)
    assert shown == "postgresql+psycopg://user:***@db:5432/gitloop?password=***&sslmode=require"
    assert "p@ss" not in shown and "p%40ss" not in shown
    assert masked(database_url("postgresql://user@db/gitloop")) == "postgresql+psycopg://user@db/gitloop"


def test_scrub_and_mask_text() -> None:
    url = database_url("postgresql://user:topsecret@db/gitloop")
    assert scrub("driver said topsecret twice: topsecret", url) == "driver said *** twice: ***"
    assert mask_text("weird://user:topsecret@host/x") == "weird://user:***@host/x"


def test_open_store_creates_the_directory_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "gitloop.db"
    store = open_store(str(path))
    try:
        store.put("K", "n", {})
        assert "***" not in store.url and store.url.endswith(str(path))
    finally:
        store.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_a_database_from_a_newer_gitloop_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gitloop.db"
    open_store(str(path)).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(GitloopError, match="newer than this gitloop"):
        open_store(f"sqlite:///{path}")


def test_an_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(GitloopError, match="cannot create"):
        open_store(str(blocker / "sub" / "gitloop.db"))


def test_a_log_costs_little_more_than_its_text(tmp_path: Path) -> None:
    """Lines are kept in chunks: 8 MB of 80-byte lines must not become 19 MB of rows and indexes."""
    path = tmp_path / "gitloop.db"
    store = open_store(str(path))
    text_bytes = 0
    try:
        for batch in range(100):
            lines = [f"{batch:04d}:{i:06d} " + "x" * 68 for i in range(1_000)]
            store.append_log("build-pipeline-run-1", "compile/step-build", lines)
            text_bytes += sum(len(line) + 1 for line in lines)
    finally:
        store.close()
    stored = sum(p.stat().st_size for p in tmp_path.iterdir() if p.name.startswith("gitloop.db"))
    assert stored < 1.25 * text_bytes, f"{stored} bytes stored for {text_bytes} bytes of log text"
