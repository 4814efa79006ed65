"""web: the tiny web app of the gitloop demo. ``GET /`` answers a greeting, ``GET /healthz`` answers ok.

Standard library only; ``python3 app.py`` serves on ``$HOST:$PORT`` (default 127.0.0.1:8080).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import make_server

MESSAGE = "Hello from the gitloop demo"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def greeting(name: str = "") -> str:
    """The greeting, to ``name`` when given."""
    return f"{MESSAGE}, {name}!" if name else f"{MESSAGE}!"


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The WSGI application."""
    path = str(environ.get("PATH_INFO") or "/")
    if path == "/healthz":
        status, body = "200 OK", "ok\n"
    elif path == "/":
        query = str(environ.get("QUERY_STRING") or "")
        name = next((v for k, _, v in (p.partition("=") for p in query.split("&")) if k == "name"), "")
        status, body = "200 OK", greeting(name) + "\n"
    else:
        status, body = "404 Not Found", "not found\n"
    data = body.encode("utf-8")
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    with make_server(host, port, app) as server:
        print(f"web: serving on http://{host}:{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
