"""The local git server as a background daemon, and the foreground loop that daemon runs.

State lives in ``<state_dir>/gitserver/``: ``state.json`` (the daemon's PID with its start time, port,
URL and root), ``gitserver.log`` (its output) and, unless ``--root`` says otherwise, the repositories
under ``repos/``. The daemon is ``python -m gitloop gitserver serve ...`` in its own session; secrets
reach it as file paths, never on its command line. ``down`` stops only the recorded process.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from gitloop.errors import InfraError, UsageError
from gitloop.localinfra import processes
from gitloop.localinfra.githttp import HEALTH_PATH, BasicAuth
from gitloop.localinfra.gitrepos import init_bare_repo, repo_name, set_repo_webhook
from gitloop.localinfra.gitserver import GitServer, Webhook
from gitloop.localinfra.paths import state_dir
from gitloop.localinfra.processes import Recorded

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


def read_secret(path: Path, what: str) -> str:
    """The first line of ``path`` (a password or webhook secret); UsageError if missing or empty."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} file {path}: {exc.strerror or exc}") from exc
    lines = text.splitlines()
    secret = lines[0] if lines else ""
    if not secret:
        raise UsageError(f"the {what} file {path} is empty")
    return secret


@dataclass(frozen=True)
class ServeOptions:
    """How to run the server; secrets are named by file so they stay off command lines and logs."""

    root: Path
    port: int = 0
    webhook_url: str | None = None
    webhook_secret_file: Path | None = None
    user: str | None = None
    password_file: Path | None = None

    def __post_init__(self) -> None:
        if (self.user is None) != (self.password_file is None):
            raise UsageError("--user and --password-file go together")
        if self.webhook_secret_file is not None and self.webhook_url is None:
            raise UsageError("--webhook-secret-file needs --webhook-url")
        if self.webhook_url is not None and not self.webhook_url.startswith(("http://", "https://")):
            raise UsageError(f"--webhook-url must be an http(s) URL, not {self.webhook_url!r}")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"bad port {self.port}")

    def auth(self) -> BasicAuth | None:
        if self.user is None or self.password_file is None:
            return None
        return BasicAuth(self.user, read_secret(self.password_file, "password"))

    def webhook(self) -> Webhook | None:
        if self.webhook_url is None:
            return None
        secret = read_secret(self.webhook_secret_file, "webhook secret") if self.webhook_secret_file else None
        return Webhook(self.webhook_url, secret)

    def server(self) -> GitServer:
        return GitServer(self.root, host=HOST, port=self.port, auth=self.auth(), webhook=self.webhook())

    def serve_argv(self, port_file: Path) -> list[str]:
        """The daemon's command line: the foreground ``serve`` command with absolute paths."""
        argv = [sys.executable, "-m", "gitloop", "gitserver", "serve"]
        argv += ["--root", str(self.root.resolve()), "--port", str(self.port), "--port-file", str(port_file)]
        if self.webhook_url is not None:
            argv += ["--webhook-url", self.webhook_url]
        if self.webhook_secret_file is not None:
            argv += ["--webhook-secret-file", str(self.webhook_secret_file.resolve())]
        if self.user is not None and self.password_file is not None:
            argv += ["--user", self.user, "--password-file", str(self.password_file.resolve())]
        return argv


def serve(
    options: ServeOptions,
    *,
    port_file: Path | None = None,
    ready: Callable[[GitServer], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run the server in the foreground until SIGTERM or SIGINT (or ``stop``), then stop gracefully."""
    server = options.server()
    stop = stop or threading.Event()
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        server.start()
        log.info("serving %s at %s", server.root, server.url)
        if port_file is not None:
            tmp = port_file.with_name(port_file.name + ".tmp")
            tmp.write_text(str(server.port))
            tmp.replace(port_file)
        if ready is not None:
            ready(server)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("stopped")


def healthy(url: str, *, timeout: float = 2.0) -> bool:
    """True if a git server answers its health check at ``url``."""
    host_port = url.removeprefix("http://").split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", HEALTH_PATH)
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


@dataclass(frozen=True)
class DaemonState:
    """What ``state.json`` records about the running daemon (no secrets)."""

    url: str
    port: int
    root: str
    process: Recorded
    webhook_url: str | None = None
    user: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "port": self.port,
            "root": self.root,
            "process": self.process.to_json(),
            "webhook_url": self.webhook_url,
            "user": self.user,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DaemonState:
        return cls(
            url=str(data["url"]),
            port=int(data["port"]),
            root=str(data["root"]),
            process=Recorded.from_json(data["process"]),
            webhook_url=data.get("webhook_url"),
            user=data.get("user"),
        )


@dataclass(frozen=True)
class DaemonStatus:
    """``running``: the recorded process is alive; ``stale``: state exists but that process is gone."""

    state: Literal["running", "stale", "absent"]
    info: DaemonState | None = None
    healthy: bool = False


class GitServerDaemon:
    """The background git server of one state directory (default: gitloop's own)."""

    def __init__(self, state: Path | None = None) -> None:
        self.dir = (state if state is not None else state_dir()) / "gitserver"

    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    @property
    def log_file(self) -> Path:
        return self.dir / "gitserver.log"

    @property
    def port_file(self) -> Path:
        return self.dir / "port"

    def default_root(self) -> Path:
        return self.dir / "repos"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / "lock").open("a") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def _read(self) -> DaemonState | None:
        try:
            return DaemonState.from_json(json.loads(self.state_file.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InfraError(f"unreadable git server state {self.state_file}: {exc}") from exc

    def _write(self, info: DaemonState) -> None:
        tmp = self.state_file.with_name("state.json.tmp")
        tmp.write_text(json.dumps(info.to_json(), indent=2) + "\n")
        tmp.replace(self.state_file)

    def _clear(self) -> None:
        for f in (self.state_file, self.port_file):
            f.unlink(missing_ok=True)

    def status(self) -> DaemonStatus:
        info = self._read()
        if info is None:
            return DaemonStatus("absent")
        if not processes.alive(info.process):
            return DaemonStatus("stale", info)
        return DaemonStatus("running", info, healthy(info.url))

    def up(self, options: ServeOptions, *, timeout: float = 20.0) -> tuple[DaemonState, bool]:
        """Start the daemon unless it runs; returns its state and whether this call started it."""
        with self._locked():
            st = self.status()
            if st.state == "running" and st.info is not None:
                return st.info, False
            self._clear()
            options.auth()  # fail fast on unreadable secret files, here rather than in the daemon's log
            options.webhook()
            options.root.mkdir(parents=True, exist_ok=True)
            rec = processes.spawn("gitserver", options.serve_argv(self.port_file), self.log_file)
            try:
                port = self._wait_ready(rec, timeout)
            except BaseException:
                processes.stop([rec], grace=2.0)
                self._clear()
                raise
            info = DaemonState(
                url=f"http://{HOST}:{port}",
                port=port,
                root=str(options.root.resolve()),
                process=rec,
                webhook_url=options.webhook_url,
                user=options.user,
            )
            self._write(info)
            return info, True

    def _wait_ready(self, rec: Recorded, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not processes.alive(rec):
                raise InfraError(f"the git server exited while starting:\n{self._log_tail()}")
            with contextlib.suppress(OSError, ValueError):
                port = int(self.port_file.read_text())
                if healthy(f"http://{HOST}:{port}"):
                    return port
            time.sleep(0.05)
        raise InfraError(f"the git server did not answer within {timeout:.0f}s:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def down(self) -> bool:
        """Stop the recorded daemon (only that process group) and remove its state.

        Returns whether it was running.
        """
        with self._locked():
            info = self._read()
            if info is None:
                return False
            was_running = processes.alive(info.process)
            processes.stop([info.process])
            self._clear()
            return was_running

    def create_repo(self, name: str, *, exist_ok: bool = False) -> str:
        """Create a repository in the running daemon's root; returns its clone URL."""
        st = self.status()
        if st.state != "running" or st.info is None:
            raise InfraError("the git server is not running: start it with 'gitloop gitserver up'")
        init_bare_repo(Path(st.info.root), name, exist_ok=exist_ok)
        return f"{st.info.url}/{repo_name(name)}.git"

    def set_repo_webhook(self, name: str, url: str | None) -> None:
        """Announce the pushes of repository ``name`` to ``url`` (``None``: the server's webhook URL)."""
        st = self.status()
        if st.state != "running" or st.info is None:
            raise InfraError("the git server is not running: start it with 'gitloop gitserver up'")
        set_repo_webhook(Path(st.info.root), name, url)
