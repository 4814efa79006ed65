"""The local git server: bare repositories under one root directory, served over HTTP on 127.0.0.1.

``GitServer`` runs ``git http-backend`` behind :mod:`gitloop.localinfra.githttp` in a background
thread of the calling process (tests use it so); :mod:`gitloop.localinfra.gitdaemon` runs the same
server as a detached daemon. With a :class:`Webhook`, every push POSTs a GitHub-style push event.

The webhook configuration (URL, secret) lives only in a private directory of the running server
(mode 0700, the file 0600) and reaches each repository's ``post-receive`` hook through the
backend's environment, so repositories hold no secret and follow the server that serves them.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Self

from gitloop.errors import InfraError, UsageError
from gitloop.localinfra.githttp import Backend, BasicAuth, GitHTTPServer
from gitloop.localinfra.gitrepos import (
    git_executable,
    init_bare_repo,
    repo_name,
    repo_path,
    set_repo_webhook,
)
from gitloop.localinfra.pushhook import CONFIG_ENV, HookConfig

__all__ = ["BasicAuth", "GitServer", "Webhook"]

#: Variables of the calling environment that would point git at another repository, or pose as CGI.
_STRIPPED_ENV = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_PROTOCOL",
        "GIT_PROJECT_ROOT",
        "GIT_HTTP_EXPORT_ALL",
        "REMOTE_USER",
        "CONTENT_LENGTH",
        "CONTENT_TYPE",
        "PATH_INFO",
        "QUERY_STRING",
        "REQUEST_METHOD",
        CONFIG_ENV,
    }
)


@dataclass(frozen=True)
class Webhook:
    """Where pushes are announced, and the HMAC secret that signs them (never shown in a repr)."""

    url: str
    secret: str | None = field(default=None, repr=False)


def _check_host(host: str) -> str:
    try:
        loopback = ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"the local git server listens on IPv4 loopback only, not {host!r}")
    return host


class GitServer:
    """Bare repositories under ``root``, served over HTTP on a loopback address.

    ``port=0`` picks a free port; :attr:`url` tells which once started. Use as a context manager or
    call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: BasicAuth | None = None,
        webhook: Webhook | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._root = Path(root).expanduser().resolve()
        self._host = _check_host(host)
        self._port = port
        self.auth = auth
        self.webhook = webhook
        self._extra_env = dict(env or {})
        self._httpd: GitHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._runtime: Path | None = None

    @property
    def root(self) -> Path:
        return self._root

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise InfraError("the git server is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:34567``; repositories are at ``<url>/<name>.git``."""
        return f"http://{self._host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def git_env(self) -> dict[str, str]:
        """The environment git subprocesses of this server run with."""
        env = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
        env.update(self._extra_env)
        return env

    # -- repositories ------------------------------------------------------------------------------

    def repo_path(self, name: str) -> Path:
        return repo_path(self._root, name)

    def clone_url(self, name: str) -> str:
        return f"{self.url}/{repo_name(name)}.git"

    def create_repo(self, name: str, *, exist_ok: bool = False) -> str:
        """Create the bare repository ``name`` (``HEAD -> main``, push hook) and return its clone URL."""
        url = self.clone_url(name)  # fails before creating anything if the server is not started
        init_bare_repo(self._root, name, exist_ok=exist_ok, env=self.git_env())
        return url

    def set_repo_webhook(self, name: str, url: str | None) -> None:
        """Announce the pushes of repository ``name`` to ``url`` instead of the server's webhook URL
        (signed with the server's secret); ``None`` returns to the server's URL."""
        set_repo_webhook(self._root, name, url, env=self.git_env())

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen and serve in a background thread; returns ``self``."""
        if self._httpd is not None:
            raise InfraError(f"the git server is already started at {self.url}")
        git = git_executable()
        self._root.mkdir(parents=True, exist_ok=True)
        env = self.git_env()
        try:
            httpd = GitHTTPServer((self._host, self._port), Backend(self._root, git, env, self.auth))
        except OSError as exc:
            raise InfraError(f"the git server cannot listen on {self._host}:{self._port}: {exc}") from exc
        self._httpd = httpd
        try:
            if self.webhook is not None:
                self._runtime = Path(tempfile.mkdtemp(prefix="gitloop-gitserver-"))
                config_file = self._runtime / "pushhook.json"
                HookConfig(self.webhook.url, str(self._root), self.url, self.webhook.secret).write(
                    config_file
                )
                env[CONFIG_ENV] = str(config_file)
                httpd.backend = replace(httpd.backend, env=env)
        except OSError as exc:
            self.stop()
            raise InfraError(f"cannot write the push hook configuration: {exc}") from exc
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"gitserver:{self.port}"
        )
        self._thread.start()
        return self

    def stop(self, *, grace: float = 5.0) -> None:
        """Stop accepting, let requests in flight finish for up to ``grace`` seconds, then cut them."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        if thread is not None:
            httpd.shutdown()
            thread.join()
        deadline = time.monotonic() + grace
        while httpd.open_connections() and time.monotonic() < deadline:
            time.sleep(0.05)
        httpd.cut_connections()
        httpd.server_close()
        self._httpd = self._thread = None
        if self._runtime is not None:
            shutil.rmtree(self._runtime, ignore_errors=True)
            self._runtime = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"GitServer(root={str(self._root)!r}, {where})"
