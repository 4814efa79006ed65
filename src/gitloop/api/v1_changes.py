"""The ``/api/v1`` routes the UI's Changes and Environments views read: changes (source commits and their
lineage) and environments (the PromotionChains and application families with each stage's state).

Routes: ``GET /api/v1/changes`` (``q``, ``limit``: the newest source commits the lineage knows (the
300 newest looked through), each a summary (with its message's first line ``message`` and its
``author``), those matching ``q`` — a prefix of the commit, or part (any case) of its message, author's
name or email, repository, ref, image, run or Application; RBAC ``lineage, get`` on each commit, the list holds those the caller may get);
``GET /api/v1/changes/{sha}`` (``lineage, get``, the sha as given: the trace of ``/api/trace/{sha}``
with its build, one timeline per environment and the promotions of the commit the caller may get; a
config commit an Application synced — its history's revision — answers the change it deployed, when
the caller may get that source commit too);
``GET /api/v1/environments`` and ``GET /api/v1/environments/{name}`` (``applications, get`` on each
stage's Application: a group shows the stages the caller may get; none, and it is not listed, 404).
The shapes are built by ``gitloop.api.timelines``; nothing is decided here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.exceptions import HTTPException

from gitloop.api.access import FILTERED, Rules
from gitloop.api.timelines import change_summary, change_timelines, environment_groups, matches
from gitloop.errors import UsageError
from gitloop.lineage import build_trace
from gitloop.lineage.records import DEPLOY_KIND, SOURCE_KIND, owner
from gitloop.service.server import NotFound, Server
from gitloop.service.server.promotions import shown
from gitloop.spec.gitloop_promotion import PromotionChain

PREFIX = "/api/v1"
SCAN = 300
"""The newest source commits a search looks through (and a stage's last deployment is looked up in)."""
DEPLOY_SCAN = 5000
"""The newest deployments a config commit is looked up in."""
CONFIG_PREFIX = 7


def router(server: Server, rules: Rules) -> APIRouter:
    """The change and environment routes of ``server``."""
    routes = APIRouter(prefix=PREFIX)

    def chains() -> list[PromotionChain]:
        return list(server.app_sources.chains.values()) if server.app_sources is not None else []

    def promotions_of(commit: str, allowed: Callable[[str], bool]) -> list[dict[str, Any]]:
        if server.promotions is None:
            return []
        found = server.promotions.records.list(commit=commit)
        return [shown(p) for p in sorted(found, key=lambda p: p.created) if allowed(p.rule_object)]

    def changes(
        query: str, limit: int, lineage_allowed: Callable[[str], bool], promoted: Callable[[str], bool]
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for record in server.store.query(SOURCE_KIND, limit=SCAN):  # the newest first
            if not lineage_allowed(record.name):
                continue
            # the recorded hops only (no run records read): one store read per commit keeps a search cheap
            hops = [dict(entry.doc) for entry in server.store.history(owner(record.name))]
            first_seen = record.doc.get("firstSeen")
            trace = build_trace(record.name, hops, record.doc, {})
            summary = change_summary(
                trace,
                promotions_of(record.name, promoted),
                float(first_seen) if isinstance(first_seen, int | float) else None,
            )
            if matches(summary, query, trace.message):
                found.append(summary)
                if len(found) == limit:
                    break
        return found

    @routes.get("/changes", dependencies=rules.require("lineage", "get", FILTERED))
    async def list_changes(
        request: Request, q: str = "", limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> dict[str, Any]:
        lineage_allowed = rules.allows(request, "lineage", "get")
        promoted = rules.allows(request, "promotions", "get")
        items = await asyncio.to_thread(changes, q, limit, lineage_allowed, promoted)
        return {"items": items}

    @routes.get(
        "/changes/{sha}", dependencies=rules.require("lineage", "get", lambda r: r.path_params["sha"])
    )
    async def get_change(sha: str, request: Request) -> dict[str, Any]:
        promoted = rules.allows(request, "promotions", "get")
        lineage_allowed = rules.allows(request, "lineage", "get")

        def work() -> dict[str, Any]:
            try:
                trace = server.trace(sha)
            except (NotFound, UsageError):
                source = deployed_source(sha)  # a config commit: an Application's history names it
                if not source:
                    raise
                if not lineage_allowed(source):
                    raise HTTPException(403, f"permission denied: lineage, get, {source}") from None
                trace = server.trace(source)
            return change_timelines(trace, promotions_of(trace.source, promoted), chains())

        return await asyncio.to_thread(work)

    def deployed_source(sha: str) -> str:
        """The source commit a config commit (``sha`` or a prefix of it, 7+ digits) deployed, from the
        lineage's deployments (``""``: none)."""
        wanted = sha.strip().lower()
        if len(wanted) < CONFIG_PREFIX:
            return ""
        for record in server.store.query(DEPLOY_KIND, limit=DEPLOY_SCAN):
            if str(record.doc.get("revision", "")).startswith(wanted) and record.doc.get("source"):
                return str(record.doc["source"])
        return ""

    def stage_state(application: str) -> dict[str, Any]:
        """A stage's Application now: sync, health, revision, images, and the source commit it runs: the
        one its last sync deployed (its revision ``deployedRevision``, the revision itself unless that
        moved since without a sync)."""
        try:
            status: Mapping[str, Any] = server.app_api().status(application)["status"]
        except NotFound:
            return {"sync": "Unknown", "health": "Missing", "revision": "", "images": [], "sourceCommit": ""}
        revisions = status.get("sync", {}).get("revisions") or [""]
        revision = str(revisions[0])
        deployed = server.store.get(DEPLOY_KIND, f"{application}@{revision}") if revision else None
        if deployed is None:  # the revision moved without a sync (a commit elsewhere in its repository)
            deployed = next(
                (d for d in server.store.query(DEPLOY_KIND, limit=SCAN) if d.doc.get("app") == application),
                None,
            )
        doc = deployed.doc if deployed is not None else {}
        return {
            "sync": status.get("sync", {}).get("status", "Unknown"),
            "health": status.get("health", {}).get("status", "Unknown"),
            "revision": revision,
            "images": list(status.get("images") or ()),
            "sourceCommit": str(doc.get("source", "")),
            "deployedRevision": str(doc.get("revision", "")),
            "syncedAt": doc.get("syncedAt"),
            "healthyAt": doc.get("healthyAt"),
        }

    def groups(allowed: Callable[[str], bool]) -> list[dict[str, Any]]:
        names = server.apps.names() if server.apps is not None else []
        shown_groups = []
        for group in environment_groups(names, chains()):
            stages = [
                {
                    **stage,
                    "project": server.app_object(stage["application"]).split("/", 1)[0],
                    **stage_state(stage["application"]),
                }
                for stage in group["stages"]
                if allowed(server.app_object(stage["application"]))
            ]
            if stages:
                shown_groups.append({**group, "stages": stages})
        return shown_groups

    @routes.get("/environments", dependencies=rules.require("applications", "get", FILTERED))
    async def list_environments(request: Request) -> dict[str, Any]:
        allowed = rules.allows(request, "applications", "get")
        return {"items": await asyncio.to_thread(groups, allowed)}

    @routes.get("/environments/{name}", dependencies=rules.require("applications", "get", FILTERED))
    async def get_environment(name: str, request: Request) -> dict[str, Any]:
        allowed = rules.allows(request, "applications", "get")
        found = next((g for g in await asyncio.to_thread(groups, allowed) if g["name"] == name), None)
        if found is None:
            raise HTTPException(404, f"no PromotionChain or application family {name!r}")
        return found

    return routes
