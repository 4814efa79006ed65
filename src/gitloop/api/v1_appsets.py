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

from typing import Any

from fastapi import APIRouter, Request

from gitloop.api.access import DEFERRED, FILTERED, Rules, permit
from gitloop.errors import SpecError
from gitloop.service.server import NotFound, Server
from gitloop.service.server.appsets import AppSets, parse_appset
from gitloop.spec.yaml import load_json

PREFIX = "/api/v1"
BODY_SOURCE = "the request body"


def router(server: Server, rules: Rules) -> APIRouter:
    """The ``/api/v1/applicationsets`` routes of ``server``; the object of an ApplicationSet is
    ``<project>/<name>`` (its template's project, as Argo CD's)."""
    routes = APIRouter(prefix=PREFIX)

    def appset(action: str) -> list[Any]:
        return rules.require("applicationsets", action, lambda r: server.appset_object(r.path_params["name"]))

    def appsets() -> AppSets:
        if server.appsets is None:
            raise NotFound("this server runs no ApplicationSets (no Applications are configured)")
        return server.appsets

    @routes.get("/applicationsets", dependencies=rules.require("applicationsets", "get", FILTERED))
    async def appset_list(request: Request, selector: str = "") -> dict[str, Any]:
        if server.appsets is None:
            return {"metadata": {}, "items": []}
        projects = [p for p in request.query_params.getlist("projects") if p]
        listed = server.appsets.listed(projects=projects, selector=selector)
        allowed = rules.allows(request, "applicationsets", "get")
        listed["items"] = [i for i in listed["items"] if allowed(_object(i))]
        return listed

    @routes.get("/applicationsets/{name}", dependencies=appset("get"))
    async def appset_get(name: str) -> dict[str, Any]:
        return appsets().shown(name)

    @routes.post("/applicationsets", dependencies=rules.require("applicationsets", "create", DEFERRED))
    async def appset_create(request: Request, upsert: bool = False) -> dict[str, Any]:
        try:
            parsed = load_json(await request.body(), source=BODY_SOURCE)
        except ValueError as exc:
            raise SpecError(f"the body must be a JSON object: an Argo CD ApplicationSet ({exc})") from exc
        if not isinstance(parsed, dict):
            raise SpecError("the body must be a JSON object: an Argo CD ApplicationSet")
        given = parse_appset(parsed, BODY_SOURCE)
        project = str((given.template.get("spec") or {}).get("project", ""))
        permit(server, request, "applicationsets", "create", f"{project}/{given.name}")
        return await appsets().create(given, upsert=upsert)

    @routes.delete("/applicationsets/{name}", dependencies=appset("delete"))
    async def appset_delete(name: str) -> dict[str, Any]:
        await appsets().delete(name)
        return {}

    return routes


def _object(shown: dict[str, Any]) -> str:
    """``<project>/<name>`` of an ApplicationSet as the API shows it."""
    project = ((shown.get("spec") or {}).get("template") or {}).get("spec", {}).get("project", "")
    return f"{project}/{shown.get('metadata', {}).get('name', '')}"
