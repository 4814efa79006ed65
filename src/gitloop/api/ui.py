"""The web UI's routes: ``GET /ui/assets/{path}`` (the static files of ``gitloop.ui.ASSETS``, never a
path outside it), ``GET /ui/{path}`` (``index.html`` for every view, so a deep link loads the page and
its router shows the view) and ``GET /`` (a redirect to ``/ui/applications``).

These routes are open (``gitloop.api.access.OPEN``): they answer the same files to everyone and hold no
data; every view reads its data from ``/api/v1``, which checks who asks. Every answer carries a Content
Security Policy allowing only this origin's scripts and styles (no inline ones, no framing) and
``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from gitloop.ui import ASSETS

CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
"""The only kinds of file served; anything else under the assets is 404."""

ROUTES = frozenset({("GET", "/"), ("GET", "/ui/assets/{path:path}"), ("GET", "/ui/{path:path}")})
"""The UI's routes, all open (``gitloop.api.access.OPEN`` lists them)."""


def asset(root: Path, path: str) -> Path | None:
    """The file ``path`` names under ``root``, or ``None`` (absent, a directory, outside ``root``, or of
    a type not served)."""
    base = root.resolve()
    found = (base / path).resolve()
    if not found.is_relative_to(base) or not found.is_file() or found.suffix not in TYPES:
        return None
    return found


def router(root: Path = ASSETS) -> APIRouter:
    """The UI's routes, serving the files under ``root``."""
    routes = APIRouter(include_in_schema=False)
    index = root / "index.html"

    @routes.get("/")
    async def home() -> Response:
        return RedirectResponse("/ui/applications", status_code=302, headers=HEADERS)

    @routes.get("/ui/assets/{path:path}")
    async def static(path: str) -> Response:
        found = asset(root, path)
        if found is None:
            raise HTTPException(404, f"no UI asset {path!r}")
        media = TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return FileResponse(found, media_type=media, headers={**HEADERS, "Cache-Control": "no-cache"})

    @routes.get("/ui/{path:path}")
    async def page(path: str) -> Response:
        return FileResponse(
            index, media_type=TYPES[".html"], headers={**HEADERS, "Cache-Control": "no-cache"}
        )

    return routes
