"""The SQLite store is private to its owner: file 0600 (with its -wal/-shm), in a 0700 directory;
gitloop's state directory is made 0700 even when an older gitloop left it wider."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gitloop.localinfra.paths import state_dir
from gitloop.store import open_store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_a_new_store_is_private(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "new" / "dir" / "gitloop.db"
    old = os.umask(umask)
    try:
        store = open_store(str(path))
        store.put("PipelineRun", "r", {"manifest": {}}, labels={})
        assert store.get("PipelineRun", "r") is not None
        files = sorted(p.name for p in path.parent.iterdir())
        modes = {p.name: _mode(p) for p in path.parent.iterdir()}
        store.close()
    finally:
        os.umask(old)
    assert "gitloop.db" in files
    assert set(modes.values()) == {0o600}, modes  # the database, and SQLite's -wal/-shm beside it
    assert _mode(path.parent) == 0o700


def test_an_existing_store_file_is_narrowed_and_its_directory_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "mine.db"
    tmp_path.chmod(0o755)
    open_store(str(path)).close()
    path.chmod(0o644)
    open_store(f"sqlite:///{path}").close()
    assert _mode(path) == 0o600
    assert _mode(tmp_path) == 0o755  # the user's own directory


def test_the_state_directory_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh, old = tmp_path / "fresh" / "state", tmp_path / "old"
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    for path in (fresh, old):
        monkeypatch.setenv("GITLOOP_STATE_DIR", str(path))
        assert state_dir() == path
        assert _mode(path) == 0o700


_READ_AND_CLOSE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
print(connection.execute("select count(*) from objects").fetchone()[0])
connection.close()
"""


def test_opening_a_second_store_keeps_the_first_ones_writes_visible(tmp_path: Path) -> None:
    """Making the file private must not touch a file this process has open: closing any descriptor of a
    SQLite file drops the process's locks on it, and another process closing its connection then deletes
    the WAL the first store still writes to (serve's sync operations vanished that way)."""
    path = tmp_path / "gitloop.db"
    first = open_store(str(path))
    second = None
    try:
        first.put("PipelineRun", "one", {"manifest": {}}, labels={})
        second = open_store(str(path))
        counted = subprocess.run(
            [sys.executable, "-c", _READ_AND_CLOSE, str(path)], capture_output=True, text=True, check=True
        )
        assert counted.stdout.strip() == "1"
        first.put("PipelineRun", "two", {"manifest": {}}, labels={})
        counted = subprocess.run(
            [sys.executable, "-c", _READ_AND_CLOSE, str(path)], capture_output=True, text=True, check=True
        )
        assert counted.stdout.strip() == "2", "the first store's write went to a deleted WAL"
    finally:
        first.close()
        if second is not None:
            second.close()
