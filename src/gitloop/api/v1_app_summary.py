"""``GET /api/v1/applications-summary``: how many Applications a list's filters select, by health and
by sync status, over every page, and the projects, clusters and namespaces there are to filter by.

The web UI's Applications page shows one page at a time (``GET /api/v1/applications?limit=...``); its
counts bar and its filter choices need the whole list, which this answers without sending it. The
filters are those of the list (``gitloop.gitops.query``; ``limit`` and ``continue`` are ignored); the
choices come from every Application the caller may ``get``, so choosing one project still offers the
others. Answer: ``{"total", "health": {status: n}, "sync": {status: n}, "projects", "clusters",
"namespaces"}`` (each list sorted, without duplicates). Without filters the list is walked once.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import APIRouter, Request

from gitloop.api.access import FILTERED, Rules
from gitloop.gitops.query import AppQuery
from gitloop.service.server import Server

PREFIX = "/api/v1"


def summary(selected: Iterable[Mapping[str, Any]], every: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The counts of the ``selected`` Applications (Argo CD-shaped) and the filter choices of ``every``."""
    health: Counter[str] = Counter()
    sync: Counter[str] = Counter()
    total = 0
    for app in selected:
        total += 1
        status = app.get("status") or {}
        health[(status.get("health") or {}).get("status") or "Unknown"] += 1
        sync[(status.get("sync") or {}).get("status") or "Unknown"] += 1
    projects, clusters, namespaces = set(), set(), set()
    for app in every:
        spec = app.get("spec") or {}
        destination = spec.get("destination") or {}
        projects.add(str(spec.get("project") or "default"))
        if destination.get("name") or destination.get("server"):
            clusters.add(str(destination.get("name") or destination.get("server")))
        if destination.get("namespace"):
            namespaces.add(str(destination["namespace"]))
    return {
        "total": total,
        "health": dict(health),
        "sync": dict(sync),
        "projects": sorted(projects),
        "clusters": sorted(clusters),
        "namespaces": sorted(namespaces),
    }


def router(server: Server, rules: Rules) -> APIRouter:
    """The summary route of ``server``: any principal may ask; it counts only what they may ``get``."""
    routes = APIRouter(prefix=PREFIX)

    @routes.get("/applications-summary", dependencies=rules.require("applications", "get", FILTERED))
    async def applications_summary(request: Request) -> dict[str, Any]:
        if server.apps is None:
            return summary([], [])
        allowed = rules.allows(request, "applications", "get")
        params: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            if key not in ("limit", "continue"):
                params.setdefault(key, []).append(value)
        every = AppQuery(permitted=lambda app: allowed(f"{app.project}/{app.name}"))
        selected = dataclasses.replace(AppQuery.parse(params), permitted=every.permitted)
        listed = server.apps.list_applications(every)["items"]
        chosen = listed if selected == every else server.apps.list_applications(selected)["items"]
        return summary(chosen, listed)

    return routes
