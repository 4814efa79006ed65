"""``GET /api/v1/applications/{name}/syncwindows``: the sync windows of an Application's project as
Argo CD's ``ApplicationService.GetApplicationSyncWindows`` answers them — ``{"activeWindows",
"assignedWindows", "canSync"}`` (``canSync``: whether a manual sync may start now; the windows are the
project's ``syncWindows`` items that select the Application). 404 for an unknown Application."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.params import Depends

from gitloop.service.server import Server

PREFIX = "/api/v1"


def router(server: Server, dependencies: Sequence[Depends]) -> APIRouter:
    """The sync-window route of ``server``, behind ``dependencies`` (the API token)."""
    routes = APIRouter(prefix=PREFIX, dependencies=list(dependencies))

    @routes.get("/applications/{name}/syncwindows")
    async def sync_windows(name: str) -> dict[str, Any]:
        return server.app_api().sync_windows(name)

    return routes
