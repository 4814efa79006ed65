"""``gitloop serve`` as a real process for the tests: started from a config file, its URL read from
its output, stopped with SIGTERM (by its PID, which only these tests started).

Before it starts, the account ``admin`` and an API token of it are provisioned in the store the config
names, with ``gitloop account`` under the serve's own environment (so the same state directory): the
helper's client and ``cli_env()`` send that token, as an operator's script would."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from gitloop.access.tokens import Tokens
from gitloop.ports import Store

GITLOOP = str(Path(sys.executable).parent / "gitloop")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _account(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GITLOOP, "account", *args], env=env, capture_output=True, text=True, timeout=60)


def provision_admin(config: Path, env: dict[str, str], database_url: str | None = None) -> str:
    """An API token of ``admin`` (created without a password unless it exists) in the store of
    ``gitloop serve --config config [--database-url URL]`` run with ``env``; ``""`` and the reason in
    the error when the config cannot be read (the serve under test then reports it itself)."""
    where = ["--config", str(config), *(["--database-url", database_url] if database_url else [])]
    env = {k: v for k, v in env.items() if k != "GITLOOP_DATABASE_URL"}  # serve does not read it
    created = _account(env, "create", "admin", *where)
    if created.returncode != 0 and "already exists" not in created.stderr:
        raise ProvisionError(created.stderr)
    issued = _account(env, "token", "create", "admin", *where, "--description", "serve tests")
    if issued.returncode != 0:
        raise ProvisionError(issued.stderr)
    return issued.stdout.strip()


class ProvisionError(Exception):
    """``gitloop account`` could not provision the store (its stderr is the message)."""


class ServeProcess:
    """One ``gitloop serve --config FILE`` process; ``url`` once it accepts requests; ``token`` an API
    token of ``admin`` (``""`` when ``provision=False`` or the config could not be read)."""

    def __init__(self, config: Path, env: dict[str, str], *args: str, provision: bool = True) -> None:
        self.config = config
        self.log = config.parent / f"serve-{time.monotonic_ns()}.log"
        self.token, self.provision_error = "", ""
        if provision:
            database_url = args[args.index("--database-url") + 1] if "--database-url" in args else None
            try:
                self.token = provision_admin(config, env, database_url)
            except ProvisionError as exc:
                self.provision_error = str(exc)
        self._err = self.log.open("w")
        self.process = subprocess.Popen(
            [GITLOOP, "serve", "--config", str(config), *args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            env=env,
            text=True,
        )
        self.url = ""

    def wait_ready(self, timeout: float = 60.0) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if "listening on " in line:
                self.url = line.strip().rsplit(" ", 1)[-1]
                return self.url
        provisioning = (
            f"(provisioning admin failed: {self.provision_error})\n" if self.provision_error else ""
        )
        raise AssertionError(f"gitloop serve did not start:\n{provisioning}{self.output()}")

    def output(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.log.read_text(errors="replace")

    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header of ``token`` (none without one)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def client(self, verify: ssl.SSLContext | bool = True) -> httpx.Client:
        """A client of ``url`` sending ``token``; ``verify`` checks an ``https://`` server's certificate."""
        return httpx.Client(base_url=self.url, timeout=30.0, verify=verify, headers=self.headers())

    def cli_env(self) -> dict[str, str]:
        """What a ``gitloop`` CLI call needs to work against this server: its URL and ``token``."""
        return {"GITLOOP_SERVER": self.url, "GITLOOP_AUTH_TOKEN": self.token}

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit status (the process is killed if it does not end in ``timeout``)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"gitloop serve did not stop on SIGTERM:\n{self.output()}") from None

    def __enter__(self) -> ServeProcess:
        self.wait_ready()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._err.close()


def admin_headers(store: Store) -> dict[str, str]:
    """The ``Authorization`` header of a new API token of ``admin`` in ``store``: for a server run in the
    test's process (``open_server`` has created ``admin``)."""
    _, token = Tokens(store).issue("admin", kind="api", expires_in=None, description="serve tests")
    return {"Authorization": f"Bearer {token}"}


def serve_env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GITLOOP_STATE_DIR"] = str(state)
    return env
