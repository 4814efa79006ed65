"""``GET /api/v1/metrics/dora?app=&env=&since=&failureWindow=``: DORA's figures read from the server's
store (``gitloop.service.dora``) — per Application and per environment, over ``since`` (a duration back
from now, ``30d`` by default, or an RFC 3339 time), failures counted within ``failureWindow`` (``1h``)
of a deployment. The same JSON as ``gitloop metrics dora -o json``. Access: ``server, get, dora``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from gitloop.api.access import Rules
from gitloop.lineage.dora import DEFAULT_FAILURE_WINDOW
from gitloop.service.dora import dora_report, parse_window
from gitloop.service.server import Server
from gitloop.spec.duration import parse_since

PREFIX = "/api/v1"
DEFAULT_SINCE = "30d"


def router(server: Server, rules: Rules) -> APIRouter:
    """The DORA route of ``server``."""
    routes = APIRouter(prefix=PREFIX)

    @routes.get("/metrics/dora", dependencies=rules.require("server", "get", "dora"))
    async def dora(
        app: str | None = None,
        env: str | None = None,
        since: str = DEFAULT_SINCE,
        failureWindow: str = "",
    ) -> dict[str, Any]:
        now = server.clock()
        start = parse_since(since, now=now, flag="since")
        window = (
            parse_window(failureWindow, flag="failureWindow") if failureWindow else DEFAULT_FAILURE_WINDOW
        )
        report = await asyncio.to_thread(
            dora_report,
            server.store,
            since=start,
            until=now,
            app=app or None,
            env=env or None,
            failure_window=window,
        )
        return report.to_dict()

    return routes
