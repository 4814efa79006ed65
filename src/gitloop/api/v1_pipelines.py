"""The ``/api/v1`` routes for PipelineRuns: read them Tekton-shaped, cancel and rerun them.

Each route reads its request and calls the ``Server`` (``gitloop.service.server.runtime``), which asks
the launcher of the run's EventListener (``PipelineLauncher.cancel`` / ``rerun``); nothing is decided
here. Errors answer in the ``/api/v1`` shape of ``gitloop.api.v1`` (404 unknown run, 409 a run that
finished or cannot be run again, 400 a bad request).

Routes: ``GET /api/v1/pipelineruns`` (``limit``, ``labelSelector`` with ``key=value`` terms),
``GET /api/v1/pipelineruns/{name}``, ``GET .../taskruns``, ``GET .../logs`` (as ``/api/pipelineruns``,
which stay as aliases), ``POST .../cancel`` (body ``{"status": "Cancelled" | "CancelledRunFinally" |
"StoppedRunFinally"}``, Tekton's ``spec.status``; ``Cancelled`` without one) and ``POST .../rerun``
(201, the new run's name).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from gitloop.api.access import FILTERED, Rules
from gitloop.model.selectors import parse_selector
from gitloop.service.server import Server
from gitloop.service.server.runtime import LOG_PAGE

PREFIX = "/api/v1"


class CancelBody(BaseModel):
    """The optional body of a cancel: the ``spec.status`` Tekton sets to cancel a PipelineRun."""

    status: str | None = None


async def run_log(
    server: Server, name: str, *, source: str | None, after: int, format: str, limit: int
) -> dict[str, Any] | StreamingResponse:
    """A run's log: one JSON page of lines, or (``format=text``) the whole log streamed from the store
    page by page. The ``/api/pipelineruns/.../logs`` alias answers with it too."""
    if format == "text":
        found = await asyncio.to_thread(server.log_lines, name, source=source, after=after)
        text = (f"[{line.source}] {line.text}\n" for line in found)
        return StreamingResponse(text, media_type="text/plain; charset=utf-8")
    lines = await asyncio.to_thread(server.logs, name, source=source, after=after, limit=limit)
    return {"name": name, "lines": lines}


def router(server: Server, rules: Rules) -> APIRouter:
    """The PipelineRun routes of ``server`` under ``/api/v1``; a run's object is its name."""
    routes = APIRouter(prefix=PREFIX)

    def run(action: str) -> list[Any]:
        return rules.require("pipelineruns", action, lambda r: str(r.path_params["name"]))

    @routes.get("/pipelineruns", dependencies=rules.require("pipelineruns", "get", FILTERED))
    async def pipeline_runs(
        request: Request, limit: Annotated[int | None, Query(ge=1)] = None, labelSelector: str = ""
    ) -> dict[str, Any]:
        selector = parse_selector(labelSelector)
        visible = rules.allows(request, "pipelineruns", "get")
        return await asyncio.to_thread(server.runs, limit=limit, selector=selector, visible=visible)

    @routes.get("/pipelineruns/{name}", dependencies=run("get"))
    async def pipeline_run(name: str) -> dict[str, Any]:
        return await asyncio.to_thread(server.run, name)

    @routes.get("/pipelineruns/{name}/taskruns", dependencies=run("get"))
    async def task_runs(name: str) -> dict[str, Any]:
        return await asyncio.to_thread(server.task_runs, name)

    @routes.get("/pipelineruns/{name}/logs", response_model=None, dependencies=run("logs"))
    async def logs(
        name: str,
        source: str | None = None,
        after: Annotated[int, Query(ge=0)] = 0,
        format: Annotated[str, Query(pattern="^(json|text)$")] = "json",
        limit: Annotated[int, Query(ge=1, le=LOG_PAGE)] = LOG_PAGE,
    ) -> dict[str, Any] | StreamingResponse:
        return await run_log(server, name, source=source, after=after, format=format, limit=limit)

    @routes.post("/pipelineruns/{name}/cancel", dependencies=run("cancel"))
    async def cancel(name: str, body: CancelBody | None = None) -> JSONResponse:
        status = body.status if body is not None else None
        answer = await asyncio.to_thread(server.cancel_run, name, status)
        return JSONResponse(dict(answer.body), status_code=answer.status)

    @routes.post("/pipelineruns/{name}/rerun", dependencies=run("create"))
    async def rerun(name: str) -> JSONResponse:
        answer = await asyncio.to_thread(server.rerun, name)
        return JSONResponse(dict(answer.body), status_code=answer.status)

    return routes
