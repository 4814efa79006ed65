"""The HTTP/1.1 protocol of ``gitloop serve``: uvicorn's (on ``httptools``) with the request head bounded
in time and size.

Uvicorn closes a connection left idle between requests (its keep-alive timeout) but waits without end
for a request head that never completes, and keeps every header it is sent: a client trickling a
header a second holds a connection (and its memory) forever. ``guarded_protocol`` arms a timer when a
connection opens and after each response; the end of the next request's headers disarms it. When it
fires, a connection that had sent part of a head is answered 408 and closed, one that had sent
nothing is closed quietly (an idle keep-alive connection, a port probe). A head over
``MAX_HEAD_BYTES`` is refused (uvicorn answers 400 and closes). Each refusal is reported to
``on_refused`` (the metrics) and logged in one line. The body is bounded by ``gitloop.api.limits``.

Only the parser callbacks and ``asyncio.Protocol`` methods of uvicorn's protocol are overridden,
each calling uvicorn's own first or last; ``tests/serve/test_serve_limits.py`` checks that they exist.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("gitloop.api")

MAX_HEAD_BYTES = 64 * 1024
"""The request line and headers of one request, at most (names and values, without separators)."""

OVERRIDDEN = (
    "connection_made",
    "connection_lost",
    "data_received",
    "on_message_begin",
    "on_url",
    "on_header",
    "on_headers_complete",
    "on_response_complete",
)
"""What ``guarded_protocol`` overrides of uvicorn's protocol."""

Refused = Callable[[str, int], None]
"""Told ``(reason, status code)`` of each connection dropped before a request existed."""

_TIMEOUT_ANSWER = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HeadTooLarge(Exception):
    """Raised in a parser callback: uvicorn answers 400 and closes the connection."""


def guarded_protocol(header_timeout: float, on_refused: Refused) -> type[asyncio.Protocol]:
    """Uvicorn's HTTP protocol giving each request head ``header_timeout`` seconds."""

    class GuardedProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._head_timer: asyncio.TimerHandle | None = None
            self._waited_bytes = 0
            self._head_bytes = 0

        def _peer(self) -> str:
            return f"{self.client[0]}:{self.client[1]}" if self.client else "?"

        def _arm(self) -> None:
            self._disarm()
            self._waited_bytes = 0
            self._head_timer = self.loop.call_later(header_timeout, self._expired)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _expired(self) -> None:
            self._head_timer = None
            if self.transport.is_closing():
                return
            if self._waited_bytes:
                log.info(
                    "%s: request head not complete within %gs (%d bytes received): 408, connection closed",
                    self._peer(),
                    header_timeout,
                    self._waited_bytes,
                )
                on_refused("header-timeout", 408)
                self.transport.write(_TIMEOUT_ANSWER)
            else:
                log.debug("%s: no request within %gs: connection closed", self._peer(), header_timeout)
            self.transport.close()

        def _count_head(self, size: int) -> None:
            self._head_bytes += size
            if self._head_bytes > MAX_HEAD_BYTES:
                log.info(
                    "%s: request head over %d bytes: 400, connection closed", self._peer(), MAX_HEAD_BYTES
                )
                on_refused("head-too-large", 400)
                raise HeadTooLarge

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._head_timer is not None:
                self._waited_bytes += len(data)
            super().data_received(data)

        def on_message_begin(self) -> None:
            self._head_bytes = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._count_head(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count_head(len(name) + len(value))
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            waiting = self.cycle is None or self.cycle.response_complete
            if waiting and not self.transport.is_closing():
                self._arm()

    return GuardedProtocol
