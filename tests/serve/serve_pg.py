"""A real PostgreSQL server (Debian's) for the serve tests, adapted from the store contract suite.

A throw-away cluster in a temporary directory (run as ``postgres`` when the tests run as root), on
127.0.0.1 with password authentication; each test gets a fresh database. Stopped by its PID file.
Missing binaries fail the tests: they are never skipped.
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
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

USER = "gitloop"
PASSWORD = "serve-pg-secret"


class Postgres:
    def __init__(self, port: int) -> None:
        self.port = port
        self._numbers = itertools.count()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        name = f"serve_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], cwd: Path) -> None:
    done = subprocess.run(_as_owner(argv), cwd=cwd, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres]:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL server binaries not found: apt-get install postgresql", pytrace=False)
    bindir = found[-1].parent
    as_root = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="gitloop-serve-pg-", dir="/tmp" if as_root else None))
    data, log, pwfile = root / "data", root / "server.log", root / "pw"
    pg_ctl = str(bindir / "pg_ctl")
    try:
        pwfile.write_text(PASSWORD + "\n")
        pwfile.chmod(0o600)
        if as_root:
            owner = pwd.getpwnam("postgres")
            for path in (root, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        _run(
            [
                str(bindir / "initdb"),
                f"--pgdata={data}",
                f"--username={USER}",
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
            root,
        )
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
            "-c fsync=off -c full_page_writes=off"
        )
        _run([pg_ctl, f"--pgdata={data}", f"--log={log}", "-w", "-t", "60", "-o", options, "start"], root)
        try:
            yield Postgres(port)
        finally:
            pid_file = data / "postmaster.pid"
            if pid_file.exists():
                pid = int(pid_file.read_text().split()[0])
                stop = _as_owner([pg_ctl, f"--pgdata={data}", "-m", "fast", "-w", "-t", "60", "stop"])
                if subprocess.run(stop, cwd=root, capture_output=True, check=False, timeout=90).returncode:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
    finally:
        shutil.rmtree(root, ignore_errors=True)
