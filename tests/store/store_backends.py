"""The stores the store tests run against: a throw-away PostgreSQL server, and openers for
``MemoryStore``, ``SqlStore`` on a SQLite file and ``SqlStore`` on PostgreSQL. Test modules import the
fixtures by name: ``store``/``open_any`` run a test on every implementation, ``open_persistent`` on
the databases only, ``postgres_server`` is one throw-away server per module. (Not a conftest.py: other
test directories import their own ``conftest`` by that name.)

The PostgreSQL server is Debian's: ``start_postgres`` creates a throw-away cluster in a temporary
directory (as the ``postgres`` user when the tests run as root, since PostgreSQL refuses root), starts
it on 127.0.0.1 with password authentication, gives every test a fresh database, and stops it by its
PID file at the end. Missing server binaries fail the tests; they are never skipped.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from gitloop.ports import Store
from gitloop.store import MemoryStore, open_store

PG_USER = "gitloop"
PG_PASSWORD = "s3cret-for-tests"


# --- a real PostgreSQL server --------------------------------------------------------------------


@dataclass
class PostgresServer:
    """A running throw-away PostgreSQL cluster on 127.0.0.1."""

    port: int
    _databases: Iterator[int]

    def url(self, database: str = "postgres", *, password: str = PG_PASSWORD) -> str:
        return f"postgresql://{PG_USER}:{password}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"contract_{next(self._databases)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _postgres_bindir() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin: "
            "run `apt-get install postgresql`",
            pytrace=False,
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_owner(argv: list[str]) -> list[str]:
    """``argv`` run as the cluster's owner: ``postgres`` when we are root (PostgreSQL refuses root)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], *, cwd: Path, log: Path | None = None) -> None:
    result = subprocess.run(
        _as_owner(argv), cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        server_log = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
        pytest.fail(
            f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}{server_log}"
        )


def _stop(pg_ctl: str, data: Path, root: Path) -> None:
    """Stop the server we started, by the PID file it wrote; SIGKILL that PID if it will not stop."""
    pid_file = data / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    argv = _as_owner([pg_ctl, f"--pgdata={data}", "-m", "fast", "-w", "-t", "60", "stop"])
    if subprocess.run(argv, cwd=root, capture_output=True, check=False, timeout=90).returncode != 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start_postgres() -> Iterator[PostgresServer]:
    """A running server for the length of the generator (the ``postgres_server`` fixture)."""
    bindir = _postgres_bindir()
    as_root = os.geteuid() == 0
    # The postgres user must reach the directory: under /tmp, not under root's private temp dirs.
    root = Path(tempfile.mkdtemp(prefix="gitloop-pg-", dir="/tmp" if as_root else None))
    data, log, pwfile = root / "data", root / "server.log", root / "password"
    pg_ctl = str(bindir / "pg_ctl")
    try:
        pwfile.write_text(PG_PASSWORD + "\n")
        pwfile.chmod(0o600)
        if as_root:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("no `postgres` system user: run `apt-get install postgresql`", pytrace=False)
            for path in (root, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        initdb = [str(bindir / "initdb"), f"--pgdata={data}", f"--username={PG_USER}", f"--pwfile={pwfile}"]
        initdb += ["--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-locale"]
        _run([*initdb, "--no-sync"], cwd=root)
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
            "-c fsync=off -c full_page_writes=off"
        )
        try:
            _run(
                [pg_ctl, f"--pgdata={data}", f"--log={log}", "-w", "-t", "60", "-o", options, "start"],
                cwd=root,
                log=log,
            )
            yield PostgresServer(port, itertools.count())
        finally:
            _stop(pg_ctl, data, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- one opener per implementation ---------------------------------------------------------------


class TickingClock:
    """A clock that advances one second per reading, so every write has its own time."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._now += 1.0
            return self._now


Opener = Callable[..., Store]
INTEGRATION = pytest.mark.integration
ALL = ["memory", "sqlite", pytest.param("postgresql", marks=INTEGRATION)]
PERSISTENT = ["sqlite", pytest.param("postgresql", marks=INTEGRATION)]


def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores on one database (each call a new handle); closes them all afterwards."""
    backend: str = request.param
    if backend == "memory":
        target = None
    elif backend == "sqlite":
        target = str(tmp_path / "state" / "gitloop.db")
    else:
        target = request.getfixturevalue("postgres_server").new_database()
    opened: list[Store] = []

    def open_(clock: Callable[[], float] | None = None) -> Store:
        tick = clock if clock is not None else TickingClock()
        store: Store = MemoryStore(clock=tick) if target is None else open_store(target, clock=tick)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    yield from start_postgres()


@pytest.fixture(params=ALL)
def open_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    yield from opener(request, tmp_path)


@pytest.fixture(params=PERSISTENT)
def open_persistent(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    yield from opener(request, tmp_path)


@pytest.fixture
def store(open_any: Opener) -> Store:
    return open_any()
