"""The ``/api/v1/clusters`` routes: the cluster registry (``gitloop.service.clusters``) as Argo CD's
``ClusterService`` shows it.

Routes: ``GET /api/v1/clusters`` (``ClusterList``: every registered cluster, used or not, each probed
now), ``GET /api/v1/clusters/{server}`` (the URL-encoded server URL, as Argo CD's path, or the name),
``POST /api/v1/clusters[?upsert=true]`` (gitloop's way to register an existing kubeconfig context:
``{"name", "server"?, "labels"?, "annotations"?, "project"?, "config": {"kubeconfig": "/abs/path",
"context": "ctx"}}`` — the path is read on the server's machine; 400 for an unreadable file or an unknown
context, 409 when the name or server is registered), ``PUT /api/v1/clusters/{server}`` (``labels``,
``annotations``, ``project``: those given replace the cluster's) and ``DELETE
/api/v1/clusters/{server}`` (``{}``). A server without the registry lists no cluster. Nothing a
kubeconfig holds is ever answered: ``config`` stays empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request

from gitloop.api.access import DEFERRED, FILTERED, Rules, permit
from gitloop.errors import UsageError
from gitloop.gitops import apiobjects
from gitloop.service.clusters import ClusterExists, ClusterRegistry, Registered
from gitloop.service.server import Conflict, NotFound, Server
from gitloop.spec.yaml import load_json

PREFIX = "/api/v1"
_BODY_KEYS = ("name", "server", "labels", "annotations", "project", "config")


async def _body(request: Request, allowed: Sequence[str]) -> dict[str, Any]:
    """The request's JSON object through the bounded loader; ``UsageError`` (400) otherwise."""
    try:
        parsed = load_json(await request.body(), source="the request body")
    except ValueError as exc:
        raise UsageError(f"the body must be a JSON object: a Cluster ({exc})") from exc
    if not isinstance(parsed, dict):
        raise UsageError("the body must be a JSON object: a Cluster")
    unknown = sorted(set(parsed) - set(allowed) - {"metadata", "connectionState", "info", "serverVersion"})
    if unknown:
        raise UsageError(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(allowed)})")
    return parsed


def _strings(body: Mapping[str, Any], key: str) -> dict[str, str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise UsageError(f"{key}: must be an object of strings")
    return {str(k): v for k, v in value.items()}


def _string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key) or ""
    if not isinstance(value, str):
        raise UsageError(f"{key}: must be a string")
    return value


def router(server: Server, rules: Rules) -> APIRouter:
    """The ``/api/v1/clusters`` routes of ``server``; a cluster's object is its server URL (Argo CD's)."""
    routes = APIRouter(prefix=PREFIX)

    def cluster(action: str) -> list[Any]:
        return rules.require(
            "clusters", action, lambda r: server.cluster_object(r.path_params["name_or_server"])
        )

    def registry() -> ClusterRegistry:
        if server.clusters is None:
            raise NotFound("this server has no cluster registry (no Applications are configured)")
        return server.clusters

    def counts(clusters: ClusterRegistry) -> dict[str, int]:
        return clusters.counts(server.apps.destinations() if server.apps is not None else [])

    def shown(clusters: ClusterRegistry, entry: Registered, used: Mapping[str, int]) -> dict[str, Any]:
        state = clusters.state(entry.ref.name)
        return apiobjects.cluster(
            entry.ref,
            status=state.status,
            message=state.message,
            attempted_at=state.attempted_at,
            server_version=state.server_version,
            applications=used.get(entry.ref.name, 0),
        )

    def found(clusters: ClusterRegistry, name_or_server: str) -> Registered:
        entry = clusters.get(name_or_server)
        if entry is None:
            raise NotFound(f"cluster {name_or_server!r} not found")
        return entry

    @routes.get("/clusters", dependencies=rules.require("clusters", "get", FILTERED))
    async def cluster_list(request: Request) -> dict[str, Any]:
        if server.clusters is None:
            return apiobjects.cluster_list([])
        clusters = server.clusters
        await clusters.probe_all()
        used = counts(clusters)
        allowed = rules.allows(request, "clusters", "get")
        entries = [e for e in clusters.entries() if allowed(e.ref.server)]
        return apiobjects.cluster_list([shown(clusters, e, used) for e in entries])

    @routes.get("/clusters/{name_or_server:path}", dependencies=cluster("get"))
    async def cluster_get(name_or_server: str) -> dict[str, Any]:
        clusters = registry()
        entry = found(clusters, name_or_server)
        await clusters.probe(entry)
        return shown(clusters, entry, counts(clusters))

    @routes.post("/clusters", dependencies=rules.require("clusters", "create", DEFERRED))
    async def cluster_create(request: Request, upsert: bool = False) -> dict[str, Any]:
        body = await _body(request, _BODY_KEYS)
        config = body.get("config") or {}
        if not isinstance(config, dict):
            raise UsageError("config: must be an object with kubeconfig and context")
        kubeconfig = _string(config, "kubeconfig")
        if not kubeconfig:
            raise UsageError("config.kubeconfig: required: the absolute path of a kubeconfig on the server")
        permit(server, request, "clusters", "create", _string(body, "server") or _string(body, "name"))
        clusters = registry()
        try:
            entry = await asyncio.to_thread(
                clusters.add,
                _string(body, "name"),
                kubeconfig,
                _string(config, "context"),
                server=_string(body, "server"),
                labels=_strings(body, "labels"),
                annotations=_strings(body, "annotations"),
                project=_string(body, "project"),
                upsert=upsert,
            )
        except ClusterExists as exc:
            raise Conflict(str(exc)) from exc
        await clusters.probe(entry)
        return shown(clusters, entry, counts(clusters))

    @routes.put("/clusters/{name_or_server:path}", dependencies=cluster("update"))
    async def cluster_update(name_or_server: str, request: Request) -> dict[str, Any]:
        clusters = registry()
        entry = found(clusters, name_or_server)
        body = await _body(request, _BODY_KEYS)
        labels, annotations = _strings(body, "labels"), _strings(body, "annotations")
        project = _string(body, "project") if "project" in body else None
        entry = await asyncio.to_thread(
            clusters.relabel,
            entry.ref.name,
            entry.ref.labels if labels is None else labels,
            entry.ref.annotations if annotations is None else annotations,
            project,
        )
        return shown(clusters, entry, counts(clusters))

    @routes.delete("/clusters/{name_or_server:path}", dependencies=cluster("delete"))
    async def cluster_delete(name_or_server: str) -> dict[str, Any]:
        clusters = registry()
        entry = found(clusters, name_or_server)
        await clusters.remove(entry.ref.name)
        return {}

    return routes
