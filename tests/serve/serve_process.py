"""``gitloop serve`` as a real process for the tests: started from a config file, its URL read from
its output, stopped with SIGTERM (by its PID, which only these tests started)."""

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

GITLOOP = str(Path(sys.executable).parent / "gitloop")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServeProcess:
    """One ``gitloop serve --config FILE`` process; ``url`` once it accepts requests."""

    def __init__(self, config: Path, env: dict[str, str], *args: str) -> None:
        self.config = config
        self.log = config.parent / f"serve-{time.monotonic_ns()}.log"
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
        raise AssertionError(f"gitloop serve did not start:\n{self.output()}")

    def output(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.log.read_text(errors="replace")

    def client(self, verify: ssl.SSLContext | bool = True) -> httpx.Client:
        """A client of ``url``; ``verify`` checks an ``https://`` server's certificate."""
        return httpx.Client(base_url=self.url, timeout=30.0, verify=verify)

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


def serve_env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GITLOOP_STATE_DIR"] = str(state)
    return env
