"""Running ``gitloop serve``: uvicorn on the configured address, stopped gracefully by SIGTERM/SIGINT.

The socket is bound before anything else starts (a port in use fails at once, with a clear message
and exit status 1: the machine, not the configuration, is in the way; ``listen: 127.0.0.1:0`` picks a
free port, reported through ``on_ready``). Requests are bounded: the head by ``readHeaderTimeout``
and a size cap (``gitloop.api.protocol``), the body by ``readBodyTimeout`` and ``maxBodyBytes``
(``gitloop.api.limits``); what is refused is counted in ``/metrics``. The first SIGTERM or
SIGINT stops accepting connections, lets requests in flight be answered and then drains the server
(running PipelineRuns and sync operations get ``shutdownGracePeriod`` to end, queued runs stay queued
in the store); a second signal cuts the waiting short. Either way ``serve`` returns normally, so the
process exits 0. Uvicorn's own signal handling is replaced because it re-raises the signal after
its shutdown, which would end the process with the signal's status instead.

With ``ssl_context`` (``gitloop.service.server.tls.server_context``: TLS 1.2+) the same server speaks
HTTPS on the same socket: the head and body bounds apply to the decrypted request as they do to plain
HTTP (the protocol class sees the bytes after the handshake, which asyncio bounds at 60 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import ssl
from collections.abc import Callable, Iterator

import uvicorn

from gitloop.api.app import create_app
from gitloop.api.metrics import Metrics
from gitloop.api.protocol import guarded_protocol
from gitloop.errors import GitloopError
from gitloop.service.server import open_server
from gitloop.service.server.wiring import LauncherFactory
from gitloop.spec.serveconfig import ServeConfig

log = logging.getLogger("gitloop.serve")


class _Uvicorn(uvicorn.Server):
    """Uvicorn without its signal handlers: ``serve`` installs gitloop's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not yet listening)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise GitloopError(f"cannot listen on {shown}: {exc.strerror or exc}") from exc
    return sock


async def serve(
    config: ServeConfig,
    *,
    database_url: str | None = None,
    on_ready: Callable[[str], None] | None = None,
    launcher_factory: LauncherFactory | None = None,
    ssl_context: ssl.SSLContext | None = None,
    on_admin_password: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT (HTTPS with ``ssl_context``); ``on_ready`` gets the base URL once
    requests are accepted; ``on_admin_password`` the bootstrap ``admin``'s generated password (see
    ``open_server``)."""
    sock = listen_socket(config.host, config.port)
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    try:
        async with open_server(
            config,
            database_url=database_url,
            launcher_factory=launcher_factory,
            on_admin_password=on_admin_password,
        ) as server:
            metrics = Metrics()
            settings = uvicorn.Config(
                create_app(server, metrics=metrics, read_body_timeout=config.read_body_timeout),
                http=guarded_protocol(config.read_header_timeout, metrics.refused),
                lifespan="off",
                log_config=None,
                server_header=False,
                timeout_graceful_shutdown=max(1, int(config.shutdown_grace)),
                ssl_context_factory=None if ssl_context is None else (lambda _config, _default: ssl_context),
            )
            web = _Uvicorn(settings)

            def stop(number: int) -> None:
                name = signal.Signals(number).name
                if web.should_exit:
                    log.warning("%s again: not waiting any longer", name)
                    server.force.set()
                    web.force_exit = True
                    return
                log.info("%s: stopping (in-flight work gets %gs)", name, config.shutdown_grace)
                server.stopping.set()
                web.should_exit = True

            for number in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(number, stop, number)
                installed.append(number)
            host, port = sock.getsockname()[:2]
            scheme = "http" if ssl_context is None else "https"
            base = f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
            serving = asyncio.create_task(web.serve(sockets=[sock]))
            while not web.started and not serving.done():
                await asyncio.sleep(0.01)
            if web.started and on_ready is not None:
                on_ready(base)
            await serving
    finally:
        for installed_number in installed:
            loop.remove_signal_handler(installed_number)
        sock.close()
