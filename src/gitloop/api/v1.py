"""The ``/api/v1`` routes for Applications, AppProjects and clusters, shaped as Argo CD's REST API.

Each route reads its request and calls the server's ``AppRefresher`` (``Server.app_api``); the
objects it answers are built by the CD engine's ``gitloop.gitops.shapes`` and ``apiobjects``. Errors
are Argo CD's grpc-gateway shape, ``{"error", "code", "message"}`` (``code`` is the gRPC code: 5 not
found, 3 invalid argument, 9 failed precondition (an operation running), 16 unauthenticated, 13
internal), with the HTTP status 404, 400, 409, 401 and 500; ``error_body`` builds it for the whole
``/api/v1`` tree, so the PipelineRun routes answer the same way.

Routes: ``GET /api/v1/applications`` (filters and pages: ``gitloop.gitops.query``),
``POST /api/v1/applications[?upsert=true]`` (an Argo CD Application; 409 when one of its name exists
with another spec), ``GET/PUT /api/v1/applications/{name}``, ``DELETE /api/v1/applications/{name}
[?cascade=true|false&propagationPolicy=foreground|background]`` (answers ``{}`` at once; the deletion
runs in the background, as Argo CD's), ``POST .../sync``, ``GET .../resource-tree``,
``GET .../managed-resources``, ``GET .../manifests``, ``GET .../events``, ``GET .../resource``
(the live object of one node of the tree: ``gitloop.gitops.resource``), ``PUT .../rollback``
(with gitloop's ``"revert": true``: ``gitloop.service.revert``),
``DELETE .../operation``, ``GET /api/v1/stream/applications`` (server-sent events: ``ADDED``,
``MODIFIED``, ``DELETED``), ``GET /api/v1/projects``, ``GET /api/v1/projects/{name}``; the clusters are
``gitloop.api.v1_clusters``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from gitloop.api.access import DEFERRED, FILTERED, Rules, permit, principal_of
from gitloop.errors import SpecError, UsageError
from gitloop.gitops import apiobjects
from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.query import AppQuery
from gitloop.gitops.resource import NotInTree, ResourceRef
from gitloop.service.server import AppRefresher, NotFound, Server
from gitloop.spec.argocd import Application, parse_apps_text
from gitloop.spec.yaml import load_json

PREFIX = "/api/v1"
KEEP_ALIVE = 15.0
"""Seconds between the comments that keep an idle event stream open through proxies."""

_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 408: 4, 409: 9, 413: 8, 429: 8, 500: 13, 503: 14}


def error_body(status: int, message: str) -> dict[str, Any]:
    """Argo CD's error object for an HTTP ``status``."""
    return {"error": message, "code": _GRPC_CODES.get(status, 2), "message": message}


class RollbackBody(BaseModel):
    """Argo CD's ``ApplicationRollbackRequest`` body."""

    id: int | None = None
    prune: bool = False
    dryRun: bool = False
    revert: bool = False
    """gitloop's own: revert the config commit that brought the current state (no ``id``)."""


def _params(request: Request) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        found.setdefault(key, []).append(value)
    return found


BODY_SOURCE = "the request body"


async def _application(request: Request) -> Application:
    """The one Argo CD Application of a request body (JSON), through the bounded loader and the
    Application parser; ``SpecError`` (400) otherwise."""
    body = await request.body()
    try:
        parsed = load_json(body, source=BODY_SOURCE)
    except ValueError as exc:
        raise SpecError(f"the body must be a JSON object: an Argo CD Application ({exc})") from exc
    if not isinstance(parsed, dict) or parsed.get("kind") != "Application":
        raise SpecError("the body must be a JSON object: an Argo CD Application")
    found = parse_apps_text(body.decode(), BODY_SOURCE)
    [app] = found.apps.values()
    return app


def _flag(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise UsageError(f"{name} must be true or false, not {value!r}")


def _query(request: Request, rules: Rules) -> AppQuery:
    """The list query of ``request``, narrowed to the Applications its principal may ``get``."""
    allowed = rules.allows(request, "applications", "get")
    return dataclasses.replace(
        AppQuery.parse(_params(request)), permitted=lambda app: allowed(f"{app.project}/{app.name}")
    )


def router(server: Server, rules: Rules) -> APIRouter:
    """The ``/api/v1`` Application and AppProject routes of ``server``, each with its access rule."""
    routes = APIRouter(prefix=PREFIX)

    def apps() -> AppRefresher:
        return server.app_api()

    @routes.get("/applications", dependencies=rules.require("applications", "get", FILTERED))
    async def applications(request: Request) -> dict[str, Any]:
        query = _query(request, rules)
        if server.apps is None:
            return apiobjects.application_list([])
        return server.apps.list_applications(query)

    @routes.post("/applications", dependencies=rules.require("applications", "create", DEFERRED))
    async def create(request: Request, upsert: str | None = None) -> dict[str, Any]:
        app = await _application(request)
        permit(server, request, "applications", "create", f"{app.project}/{app.name}")
        return await apps().create(app, upsert=bool(_flag(upsert, "upsert")))

    @routes.get("/applications/{name}", dependencies=rules.app("get"))
    async def application(name: str, refresh: str = "") -> dict[str, Any]:
        return await apps().application(name, refresh=refresh)

    @routes.put("/applications/{name}", dependencies=rules.app("update"))
    async def update(name: str, request: Request) -> dict[str, Any]:
        refresher = apps()
        refresher.status(name)  # 404 before the body is read
        app = await _application(request)
        permit(server, request, "applications", "update", f"{app.project}/{app.name}")  # its new project too
        return await refresher.update(name, app)

    @routes.delete("/applications/{name}", dependencies=rules.app("delete"))
    async def delete(
        name: str,
        cascade: str | None = None,
        propagationPolicy: str | None = None,
    ) -> dict[str, Any]:
        apps().delete(name, cascade=_flag(cascade, "cascade"), propagation=propagationPolicy or None)
        return {}

    @routes.post("/applications/{name}/sync", dependencies=rules.app("sync"))
    async def sync(name: str, request: Request) -> dict[str, Any]:
        body = await request.body()
        try:
            parsed = load_json(body, source="the sync request body") if body.strip() else {}
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise UsageError("the body must be a JSON object: Argo CD's SyncRequest")
        username = principal_of(request).subject
        return await apps().start_sync(name, SyncRequest.from_argocd(parsed, username=username))

    @routes.get("/applications/{name}/resource-tree", dependencies=rules.app("get"))
    async def resource_tree(name: str) -> dict[str, Any]:
        return await apps().resource_tree(name)

    @routes.get("/applications/{name}/managed-resources", dependencies=rules.app("get"))
    async def managed_resources(name: str) -> dict[str, Any]:
        return await apps().managed_resources(name)

    @routes.get("/applications/{name}/manifests", dependencies=rules.app("get"))
    async def manifests(name: str) -> dict[str, Any]:
        return await apps().manifests(name)

    @routes.get("/applications/{name}/resource", dependencies=rules.app("get"))
    async def resource(name: str, request: Request) -> dict[str, Any]:
        ref = ResourceRef.parse(_params(request))
        try:
            return await apps().resource(name, ref)
        except NotInTree as exc:
            raise NotFound(str(exc)) from None

    @routes.get("/applications/{name}/events", dependencies=rules.app("get"))
    async def events(name: str) -> dict[str, Any]:
        return await apps().events(name)

    @routes.put("/applications/{name}/rollback", dependencies=rules.app("sync"))
    async def rollback(name: str, body: RollbackBody, request: Request) -> dict[str, Any]:
        username = principal_of(request).subject
        if body.revert:
            if body.id is not None or body.prune or body.dryRun:
                raise UsageError("revert: id, prune and dryRun do not apply to a revert rollback")
            return await apps().revert(name, username=username)
        if body.id is None:
            raise UsageError("id: the history id to roll back to is required (or revert: true)")
        return await apps().rollback(name, body.id, prune=body.prune, dry_run=body.dryRun, username=username)

    @routes.delete("/applications/{name}/operation", dependencies=rules.app("sync"))
    async def terminate(name: str) -> dict[str, Any]:
        apps().terminate(name)
        return {}

    @routes.get("/stream/applications", dependencies=rules.require("applications", "get", FILTERED))
    async def stream(request: Request) -> StreamingResponse:
        query = _query(request, rules)
        subscription = apps().subscribe(query)

        async def lines() -> AsyncIterator[str]:
            quiet_since = time.monotonic()
            try:
                while not server.stopping.is_set():
                    event = await subscription.next(timeout=1.0)
                    if event is None:
                        return
                    if event:
                        quiet_since = time.monotonic()
                        yield f"data: {json.dumps(event)}\n\n"
                    elif time.monotonic() - quiet_since >= KEEP_ALIVE:
                        quiet_since = time.monotonic()
                        yield ": keep-alive\n\n"
            finally:
                subscription.close()

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(lines(), media_type="text/event-stream", headers=headers)

    @routes.get("/projects", dependencies=rules.require("projects", "get", FILTERED))
    async def projects(request: Request) -> dict[str, Any]:
        listed = apps().projects()
        allowed = rules.allows(request, "projects", "get")
        listed["items"] = [p for p in listed["items"] if allowed(p["metadata"]["name"])]
        return listed

    @routes.get(
        "/projects/{name}", dependencies=rules.require("projects", "get", lambda r: r.path_params["name"])
    )
    async def project(name: str) -> dict[str, Any]:
        return apps().project(name)

    return routes
