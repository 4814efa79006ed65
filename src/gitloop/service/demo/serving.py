"""The demo's ``gitloop serve``: a child process of its own (its own session, so Ctrl-C reaches the demo
only, which then stops it with one SIGTERM), and the few API calls the demo makes to it.

The process is ``<this python> -m gitloop serve --config FILE``; its output goes to ``serve.log``. It is
ready when ``/healthz`` answers; it is stopped by its PID, which only the demo knows. The client sends
the demo's API token (``infra.provision_access``) with every call.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from gitloop.errors import InfraError

_NOISE = (" uvicorn.access: ", " httpx: HTTP Request", " httpx2: HTTP Request")


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServeProcess:
    """One ``gitloop serve`` child process and an HTTP client to its API, authenticated by ``token``."""

    def __init__(self, config: Path, log: Path, port: int, token: str) -> None:
        self.config = config
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        headers = {"Authorization": f"Bearer {token}"}
        self.client = httpx.Client(base_url=self.url, timeout=30.0, trust_env=False, headers=headers)

    def start(self, timeout: float = 60.0) -> None:
        """Start it and wait until it answers; ``InfraError`` with the end of its log if it does not."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gitloop", "serve", "--config", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise InfraError(f"gitloop serve exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if self.client.get("/healthz", timeout=2.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise InfraError(f"gitloop serve did not answer within {timeout:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        """The end of the log, without the access log and the HTTP client's request lines."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        kept = [line for line in text.splitlines() if not any(noise in line for noise in _NOISE)]
        return "\n".join(kept[-lines:])

    def wait(self) -> int:
        """Until the process ends (Ctrl-C interrupts the wait, not the process)."""
        assert self.process is not None
        return self.process.wait()

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM, wait for the graceful stop (SIGKILL after ``timeout``); its exit status."""
        process = self.process
        self.client.close()
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    # -- the API ---------------------------------------------------------------------------------

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise InfraError(f"gitloop serve answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def application(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self._json(self.client.get(f"/api/applications/{name}"))
        return found

    def promotions(self) -> list[dict[str, Any]]:
        """The promotions the server knows, newest first."""
        items: list[dict[str, Any]] = self._json(self.client.get("/api/v1/promotions")).get("items", [])
        return items

    def trace(self, sha: str) -> dict[str, Any] | None:
        response = self.client.get(f"/api/trace/{sha}")
        if response.status_code == 404:
            return None
        found: dict[str, Any] = self._json(response)
        return found

    def run(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self._json(self.client.get(f"/api/pipelineruns/{name}"))
        return found

    def runs_in_flight(self) -> int:
        return int(self._json(self.client.get("/healthz")).get("runsInFlight", 0))


def app_state(doc: dict[str, Any]) -> tuple[str, str, str]:
    """Sync status, health and revision of an Application as the API shows it."""
    status = doc.get("status") or {}
    sync = status.get("sync") or {}
    health = status.get("health") or {}
    revisions = sync.get("revisions") or [""]
    return str(sync.get("status", "Unknown")), str(health.get("status", "Unknown")), str(revisions[0])
