"""``GET /api/v1/applications/{name}/syncwindows``: the sync windows of an Application's project as
Argo CD's ``ApplicationService.GetApplicationSyncWindows`` answers them — ``{"activeWindows",
"assignedWindows", "canSync"}`` (``canSync``: whether a manual sync may start now; the windows are the
project's ``syncWindows`` items that select the Application). 404 for an unknown Application."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gitloop.api.access import Rules
from gitloop.service.server import Server

PREFIX = "/api/v1"


def router(server: Server, rules: Rules) -> APIRouter:
    """The sync-window route of ``server`` (the Application's ``get``)."""
    routes = APIRouter(prefix=PREFIX)

    @routes.get("/applications/{name}/syncwindows", dependencies=rules.app("get"))
    async def sync_windows(name: str) -> dict[str, Any]:
        return server.app_api().sync_windows(name)

    return routes
