"""The ``/api/v1/applicationsets`` routes, shaped as Argo CD's ``ApplicationSetService``.

Routes: ``GET /api/v1/applicationsets`` (``{"metadata": {}, "items": [...]}``; filters ``projects``
(repeatable: the template's project) and ``selector`` (a label selector on the ApplicationSets' labels)),
``GET /api/v1/applicationsets/{name}``, ``POST /api/v1/applicationsets[?upsert=true]`` (the body is an
ApplicationSet; 400 when it does not validate, 409 when one of its name exists with another spec and
``upsert`` is not true; answers the ApplicationSet with its status after the first reconcile) and
``DELETE /api/v1/applicationsets/{name}`` (its Applications are deleted; answers ``{}``). Each object is
Argo CD-shaped: ``metadata``, ``spec`` as given, ``status.conditions`` and ``status.resources``.
A server without ApplicationSets lists none and answers 404 for the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.params import Depends

from gitloop.errors import SpecError
from gitloop.service.server import NotFound, Server
from gitloop.service.server.appsets import AppSets, parse_appset
from gitloop.spec.yaml import load_json

PREFIX = "/api/v1"
BODY_SOURCE = "the request body"


def router(server: Server, dependencies: Sequence[Depends]) -> APIRouter:
    """The ``/api/v1/applicationsets`` routes of ``server``, each behind ``dependencies`` (the API token)."""
    routes = APIRouter(prefix=PREFIX, dependencies=list(dependencies))

    def appsets() -> AppSets:
        if server.appsets is None:
            raise NotFound("this server runs no ApplicationSets (no Applications are configured)")
        return server.appsets

    @routes.get("/applicationsets")
    async def appset_list(request: Request, selector: str = "") -> dict[str, Any]:
        if server.appsets is None:
            return {"metadata": {}, "items": []}
        projects = [p for p in request.query_params.getlist("projects") if p]
        return server.appsets.listed(projects=projects, selector=selector)

    @routes.get("/applicationsets/{name}")
    async def appset_get(name: str) -> dict[str, Any]:
        return appsets().shown(name)

    @routes.post("/applicationsets")
    async def appset_create(request: Request, upsert: bool = False) -> dict[str, Any]:
        held = appsets()
        try:
            parsed = load_json(await request.body(), source=BODY_SOURCE)
        except ValueError as exc:
            raise SpecError(f"the body must be a JSON object: an Argo CD ApplicationSet ({exc})") from exc
        if not isinstance(parsed, dict):
            raise SpecError("the body must be a JSON object: an Argo CD ApplicationSet")
        return await held.create(parse_appset(parsed, BODY_SOURCE), upsert=upsert)

    @routes.delete("/applicationsets/{name}")
    async def appset_delete(name: str) -> dict[str, Any]:
        await appsets().delete(name)
        return {}

    return routes
