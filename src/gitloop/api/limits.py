"""ASGI middleware bounding what one request may cost the server, and counting what it refuses.

- ``BodyLimit``: a ``Content-Length`` over the cap is answered 413 before anything reads the body (the
  routes that read a body also stop as soon as a chunked one passes the cap).
- ``ReadBodyTimeout``: the body must be complete within ``seconds`` of the request's headers, else 408
  and the connection is closed; a client that goes away before its body is complete ends the request
  with one log line (``RequestAborted``, counted as status 499), never a traceback. Reading a body only
  ever goes through here, so both cases are decided in one place whatever route reads it.
- ``CountRefusals``: every 4xx the application answers, into ``Metrics.refused``.

The request head (line and headers) is bounded before a request exists, by ``gitloop.api.protocol``.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gitloop.api.metrics import Metrics, refusal_reason

log = logging.getLogger("gitloop.api")

_SHOWN_PATH = 120
"""Characters of a request path shown in a log line (a client chooses the path)."""


class BodyTimeout(HTTPException):
    """The body was not complete in time: 408, and the connection is closed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408, f"the request body was not received within {seconds:g}s", headers={"Connection": "close"}
        )


class RequestAborted(HTTPException):
    """The client went away before its body was complete; the 499 answered goes nowhere."""

    def __init__(self) -> None:
        super().__init__(499, "the client closed the connection", headers={"Connection": "close"})


def _describe(scope: Scope) -> str:
    client = scope.get("client")
    peer = f"{client[0]}:{client[1]}" if client else "?"
    path = str(scope.get("path", ""))
    shown = path if len(path) <= _SHOWN_PATH else path[:_SHOWN_PATH] + "..."
    return f"{peer} {scope.get('method', '?')} {shown}"


class BodyLimit:
    """A request whose ``Content-Length`` is over ``limit`` is answered 413 at once, on every route."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = dict(scope.get("headers") or []).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.limit:
                message = {"message": f"payload too large: the limit is {self.limit} bytes"}
                await JSONResponse(message, status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _BodyReader:
    """The ``receive`` of one request, with a deadline until the body is complete."""

    def __init__(self, scope: Scope, receive: Receive, seconds: float) -> None:
        self._scope = scope
        self._receive = receive
        self._seconds = seconds
        self._deadline = asyncio.get_running_loop().time() + seconds
        self._received = 0
        self._complete = False

    async def receive(self) -> Message:
        if self._complete:
            return await self._receive()
        try:
            async with asyncio.timeout_at(self._deadline):
                message = await self._receive()
        except TimeoutError:
            log.info(
                "%s: body not complete within %gs (%d bytes received): 408, connection closed",
                _describe(self._scope),
                self._seconds,
                self._received,
            )
            raise BodyTimeout(self._seconds) from None
        if message["type"] == "http.disconnect":
            log.info(
                "%s: aborted by the client after %d bytes of the body", _describe(self._scope), self._received
            )
            raise RequestAborted
        self._received += len(message.get("body", b""))
        self._complete = not message.get("more_body", False)
        return message


class ReadBodyTimeout:
    """Bounds the time to read a request's body and turns a vanished client into ``RequestAborted``."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, _BodyReader(scope, receive, self.seconds).receive, send)


class CountRefusals:
    """Counts every refused request (a 4xx status) by reason and status code."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                code = int(message["status"])
                reason = refusal_reason(code)
                if reason is not None:
                    self.metrics.refused(reason, code)
            await send(message)

        await self.app(scope, receive, counted)
