"""HTTP face of the local git server: an ``http.server`` handler that runs ``git http-backend`` (CGI).

Request bodies sent with ``Transfer-Encoding: chunked`` (git pushes over ~1 MB) are decoded here before
they reach the backend; ``Content-Encoding: gzip`` bodies are passed through with
``HTTP_CONTENT_ENCODING`` set, and the backend inflates them itself. Optional HTTP basic auth is
checked in constant time; credentials never reach the logs or the backend's environment. Every
response closes its connection, so a stopped server leaves no idle connection behind.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import io
import logging
import re
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, Protocol, cast
from urllib.parse import unquote

from gitloop import __version__
from gitloop.errors import GitError

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
DEFAULT_USER = "gitloop"
_COPY = 64 * 1024
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
#: Request headers handed to the backend as CGI ``HTTP_*`` variables; nothing else (no ``Proxy``,
#: no ``Authorization``) crosses over.
_PASSED_HEADERS = ("Content-Encoding", "Git-Protocol", "User-Agent", "Accept")


class Readable(Protocol):
    """The part of a binary stream the body decoders use."""

    def read(self, size: int = ..., /) -> bytes: ...

    def readline(self, size: int | None = ..., /) -> bytes: ...


class RequestBodyError(GitError):
    """A request body is malformed (bad chunked encoding) or shorter than announced."""


def iter_chunked(stream: Readable, *, max_line: int = 4096) -> Iterator[bytes]:
    """Decode a ``Transfer-Encoding: chunked`` body from ``stream``, yielding its data."""
    while True:
        line = stream.readline(max_line + 1)
        if not line.endswith(b"\n") or len(line) > max_line:
            raise RequestBodyError("truncated or overlong chunk-size line")
        size_text = line.split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size_text):
            raise RequestBodyError(f"bad chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        yield from iter_sized(stream, size)
        if stream.readline(3) not in (b"\r\n", b"\n"):
            raise RequestBodyError("chunk data not followed by CRLF")
    # Trailer fields, up to the empty line that ends the body.
    for _ in range(100):
        trailer = stream.readline(max_line + 1)
        if not trailer.endswith(b"\n"):
            raise RequestBodyError("truncated chunked trailer")
        if trailer in (b"\r\n", b"\n"):
            return
    raise RequestBodyError("too many chunked trailer lines")


def iter_sized(stream: Readable, length: int) -> Iterator[bytes]:
    """Exactly ``length`` bytes of ``stream``, in pieces; RequestBodyError if it ends early."""
    left = length
    while left > 0:
        data = stream.read(min(left, _COPY))
        if not data:
            raise RequestBodyError(f"request body ended {left} bytes early")
        left -= len(data)
        yield data


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic ...`` value, or ``None``."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


@dataclass(frozen=True)
class BasicAuth:
    """One user and password for HTTP basic auth. The password never shows in a repr."""

    user: str
    password: str = field(repr=False)
    realm: str = "gitloop"

    def check(self, header: str | None) -> str | None:
        """The user name if ``header`` carries the right credentials, else ``None`` (constant time)."""
        creds = parse_basic(header)
        if creds is None:
            return None
        user_ok = hmac.compare_digest(creds[0].encode(), self.user.encode())
        password_ok = hmac.compare_digest(creds[1].encode(), self.password.encode())
        return self.user if user_ok and password_ok else None


@dataclass(frozen=True)
class Backend:
    """What the handler needs: repositories root, git, auth, and the backend's base environment."""

    root: Path
    git: str
    env: Mapping[str, str]
    auth: BasicAuth | None = None


class GitHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its backend and can cut its open connections on stop."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        self.backend = backend
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, GitRequestHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def open_connections(self) -> int:
        with self._open_lock:
            return len(self._open)

    def cut_connections(self) -> None:
        """Shut down every open client connection, so their threads end promptly."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _drain(stream: IO[bytes], sink: Callable[[str], None]) -> None:
    for line in stream:
        sink(line.decode(errors="replace").rstrip())


class GitRequestHandler(BaseHTTPRequestHandler):
    """Serves the smart HTTP protocol by running ``git http-backend`` once per request."""

    server: GitHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = f"gitloop-gitserver/{__version__}"
    timeout = 60

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def handle_expect_100(self) -> bool:
        # Refuse before the client sends a large body it is not allowed to send.
        if self._user() is None:
            self._unauthorized()
            return False
        return super().handle_expect_100()

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    # -- request handling ------------------------------------------------------------------------

    def _user(self) -> str | None:
        auth = self.server.backend.auth
        if auth is None:
            return DEFAULT_USER
        return auth.check(self.headers.get("Authorization"))

    def _simple(self, code: int, text: str, headers: Mapping[str, str] | None = None) -> None:
        body = text.encode()
        self.close_connection = True
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _unauthorized(self) -> None:
        realm = self.server.backend.auth.realm if self.server.backend.auth else "gitloop"
        self._simple(401, "authentication required\n", {"WWW-Authenticate": f'Basic realm="{realm}"'})

    def _body(self) -> Iterator[bytes] | None:
        """The request body, decoded, or None if the request framing is not supported."""
        encoding = self.headers.get("Transfer-Encoding", "").strip().lower()
        if encoding == "chunked":
            return iter_chunked(self.rfile)
        if encoding:
            return None
        length = self.headers.get("Content-Length", "0").strip() or "0"
        if not length.isdigit():
            return None
        return iter_sized(self.rfile, int(length))

    def _serve(self) -> None:
        self.close_connection = True
        path, _, query = self.path.partition("?")
        if path == HEALTH_PATH:
            self._simple(200, "ok\n")
            return
        user = self._user()
        if user is None:
            self._unauthorized()
            return
        path_info = unquote(path)
        if not path_info.startswith("/") or "\0" in path_info or ".." in path_info.split("/"):
            self._simple(404, "not found\n")
            return
        body = self._body()
        if body is None:
            self._simple(501, "unsupported request framing\n")
            return
        self._run_backend(self._cgi_env(path_info, query, user), body)

    def _cgi_env(self, path_info: str, query: str, user: str) -> dict[str, str]:
        backend = self.server.backend
        host, port = self.server.server_address[:2]
        env = dict(backend.env)
        env.update(
            GATEWAY_INTERFACE="CGI/1.1",
            SERVER_PROTOCOL=self.request_version,
            SERVER_SOFTWARE=self.server_version,
            SERVER_NAME=str(host),
            SERVER_PORT=str(port),
            REQUEST_METHOD=self.command,
            PATH_INFO=path_info,
            QUERY_STRING=query,
            REMOTE_ADDR=self.client_address[0],
            REMOTE_USER=user,
            GIT_PROJECT_ROOT=str(backend.root),
            GIT_HTTP_EXPORT_ALL="1",
        )
        if backend.auth is not None:
            env["AUTH_TYPE"] = "Basic"
        if content_type := self.headers.get("Content-Type"):
            env["CONTENT_TYPE"] = content_type
        if "Transfer-Encoding" not in self.headers and self.command == "POST":
            env["CONTENT_LENGTH"] = (self.headers.get("Content-Length") or "0").strip()
        for name in _PASSED_HEADERS:
            if (value := self.headers.get(name)) is not None:
                env["HTTP_" + name.upper().replace("-", "_")] = value
        return env

    def _feed(self, proc: subprocess.Popen[bytes], body: Iterator[bytes], failed: list[Exception]) -> None:
        """Copy the decoded request body to the backend's stdin, then close it."""
        assert proc.stdin is not None
        try:
            for data in body:
                proc.stdin.write(data)
        except RequestBodyError as exc:
            failed.append(exc)
            proc.kill()
        except OSError as exc:  # the backend stopped reading, or the client went away
            if not isinstance(exc, BrokenPipeError):
                failed.append(exc)
                proc.kill()
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    def _run_backend(self, env: dict[str, str], body: Iterator[bytes]) -> None:
        backend = self.server.backend
        failed: list[Exception] = []
        with subprocess.Popen(
            [backend.git, "http-backend"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=backend.root,
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            feeder = threading.Thread(target=self._feed, args=(proc, body, failed), daemon=True)
            drainer = threading.Thread(
                target=_drain, args=(proc.stderr, lambda s: log.warning("http-backend: %s", s)), daemon=True
            )
            feeder.start()
            drainer.start()
            try:
                self._relay(cast(io.BufferedReader, proc.stdout), failed)
            except OSError:  # the client went away mid-response
                proc.kill()
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
            finally:
                if proc.poll() is None:
                    try:
                        proc.wait(timeout=self.timeout)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                feeder.join()
                drainer.join()

    def _relay(self, out: io.BufferedReader, failed: list[Exception]) -> None:
        """Turn the backend's CGI output into the HTTP response."""
        code, reason, headers = 200, "OK", []
        saw_blank = False
        for _ in range(100):
            line = out.readline(8192)
            if line in (b"\r\n", b"\n"):
                saw_blank = True
                break
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip(), value.strip()
            if name.lower() == "status":
                status, _, reason = value.partition(" ")
                code = int(status) if status.isdigit() else 500
            else:
                headers.append((name, value))
        if not saw_blank:
            if failed and isinstance(failed[0], RequestBodyError):
                self._simple(400, f"bad request body: {failed[0]}\n")
            else:
                self._simple(500, "git http-backend failed\n")
            return
        self.send_response(code, reason or None)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        while data := out.read1(_COPY):
            self.wfile.write(data)
