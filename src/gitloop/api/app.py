"""The HTTP face of ``gitloop serve``: FastAPI routes that read a request, call the ``Server`` and write
JSON. No logic lives here.

Webhooks: ``POST /hooks/{listener}`` (Tekton EventListener semantics) and ``POST /api/webhook`` (Argo
CD's push webhook). Argo CD's ``/api/v1`` is ``gitloop.api.v1``. A body over the size cap is refused with 413 before it is read (by its
``Content-Length``) or as soon as it grows past the cap (chunked); one not complete in time with 408
(``gitloop.api.limits``, which also counts every refusal for ``/metrics``). Reads: ``/api/pipelineruns``,
``/api/applications``, ``/api/trace/{sha}``, ``/api/status`` (the serve config's sources of
Applications); ``/healthz``; ``/v1/cert.pem`` (the Sealed Secrets certificate, open as the controller's); ``/metrics`` (Prometheus, when
``prometheus-client`` is installed). Sessions, accounts and project-role tokens: ``gitloop.api.v1_access``.
The web UI (``/``, ``/ui/...``): ``gitloop.api.ui``.
Who may call what is ``gitloop.api.access``: every route declares its rule, and an application with a
route that has none is refused when it is built. Every error is a JSON ``{"message": ...}``;
unexpected ones are logged (never with the request's body or headers) and answered 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from gitloop import __version__
from gitloop.api import ui as web_ui
from gitloop.api import (
    v1,
    v1_access,
    v1_app_summary,
    v1_appsets,
    v1_changes,
    v1_clusters,
    v1_metrics,
    v1_pipelines,
    v1_promotions,
    v1_run_stream,
    v1_windows,
)
from gitloop.api.access import FILTERED, Rules, check_routes, principal_of
from gitloop.api.limits import BodyLimit, CountRefusals, ReadBodyTimeout
from gitloop.api.metrics import Metrics
from gitloop.errors import GitloopError, SpecError, SyncError, UsageError
from gitloop.gitops.operation import SyncRequest
from gitloop.service.server import Answer, Conflict, NotFound, Server
from gitloop.service.server.metrics_feed import feed_of
from gitloop.service.server.runtime import LOG_PAGE
from gitloop.spec.serveconfig import DEFAULT_READ_BODY_TIMEOUT

log = logging.getLogger("gitloop.api")


class SyncBody(BaseModel):
    """The optional body of ``POST /api/applications/{name}/sync`` (Argo CD's field names)."""

    prune: bool = False
    dryRun: bool = False
    force: bool = False
    revision: str | None = None
    resources: list[str] = Field(default_factory=list)


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (``_TooLarge``) past ``limit`` bytes without reading further."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _json(answer: Answer) -> JSONResponse:
    return JSONResponse(dict(answer.body), status_code=answer.status)


def create_app(
    server: Server,
    *,
    metrics: Metrics | None = None,
    read_body_timeout: float = DEFAULT_READ_BODY_TIMEOUT,
) -> FastAPI:
    """The FastAPI application serving ``server``; ``metrics`` also counts what the protocol drops."""
    app = FastAPI(
        title="gitloop", version=__version__, docs_url=None, redoc_url=None, openapi_url="/api/openapi.json"
    )
    metrics = metrics or Metrics()
    metrics.attach(feed_of(server))
    limit = server.max_body_bytes
    app.add_middleware(BodyLimit, limit=limit)
    app.add_middleware(ReadBodyTimeout, seconds=read_body_timeout)
    app.add_middleware(CountRefusals, metrics=metrics)  # the outermost: it sees BodyLimit's 413 too

    rules = Rules(server)

    def run(action: str) -> list[Any]:
        return rules.require("pipelineruns", action, lambda r: str(r.path_params["name"]))

    def error(request: Request, status: int, message: str, **extra: Any) -> JSONResponse:
        """``{"message"}`` (``/api/v1``: Argo CD's ``{"error", "code", "message"}``) with ``status``."""
        body = (
            v1.error_body(status, message) if request.url.path.startswith(v1.PREFIX) else {"message": message}
        )
        headers = extra.pop("headers", None)
        return JSONResponse({**body, **extra}, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(request, exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
        return error(request, 400, "invalid request", errors=problems)

    @app.exception_handler(_TooLarge)
    async def too_large(request: Request, _exc: _TooLarge) -> JSONResponse:
        return error(request, 413, f"payload too large: the limit is {limit} bytes")

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return error(request, 404, str(exc.args[0] if exc.args else exc))

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> JSONResponse:
        return error(request, 409, str(exc))

    @app.exception_handler(GitloopError)
    async def failed(request: Request, exc: GitloopError) -> JSONResponse:
        refused = (
            (UsageError, SpecError, SyncError)
            if request.url.path.startswith(v1.PREFIX)
            else (UsageError, SpecError)
        )
        return error(request, 400 if isinstance(exc, refused) else 500, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
        return error(request, 500, "internal error; see the server log")

    # -- webhooks ---------------------------------------------------------------------------------

    @app.post("/hooks/{listener}")
    async def hook(listener: str, request: Request) -> JSONResponse:
        started = time.perf_counter()
        if listener not in server.listeners:
            answer = Answer(404, {"message": f"no EventListener {listener!r} is served here"})
        else:
            try:
                body = await _read_body(request, limit)
            except _TooLarge:
                answer = Answer(
                    413,
                    {"eventListener": listener, "message": f"payload too large: the limit is {limit} bytes"},
                )
            else:
                headers = list(request.headers.items())
                answer = await asyncio.to_thread(server.hook, listener, headers, body, str(request.url))
        metrics.observe("hooks", answer.status, time.perf_counter() - started)
        return _json(answer)

    @app.post("/api/webhook")
    async def refresh_webhook(request: Request) -> JSONResponse:
        started = time.perf_counter()
        try:
            body = await _read_body(request, limit)
        except _TooLarge:
            answer = Answer(413, {"message": f"payload too large: the limit is {limit} bytes"})
        else:
            answer = await asyncio.to_thread(server.refresh_hook, list(request.headers.items()), body)
        metrics.observe("webhook", answer.status, time.perf_counter() - started)
        return _json(answer)

    # -- PipelineRuns -----------------------------------------------------------------------------

    @app.get("/api/pipelineruns", dependencies=rules.require("pipelineruns", "get", FILTERED))
    async def pipeline_runs(
        request: Request, limit: Annotated[int | None, Query(ge=1)] = None
    ) -> dict[str, Any]:
        visible = rules.allows(request, "pipelineruns", "get")
        return await asyncio.to_thread(server.runs, limit=limit, visible=visible)

    @app.get("/api/pipelineruns/{name}", dependencies=run("get"))
    async def pipeline_run(name: str) -> dict[str, Any]:
        return await asyncio.to_thread(server.run, name)

    @app.get("/api/pipelineruns/{name}/taskruns", dependencies=run("get"))
    async def task_runs(name: str) -> dict[str, Any]:
        return await asyncio.to_thread(server.task_runs, name)

    @app.get("/api/pipelineruns/{name}/logs", dependencies=run("logs"), response_model=None)
    async def logs(
        name: str,
        source: str | None = None,
        after: Annotated[int, Query(ge=0)] = 0,
        format: Annotated[str, Query(pattern="^(json|text)$")] = "json",
        limit: Annotated[int, Query(ge=1, le=LOG_PAGE)] = LOG_PAGE,
    ) -> dict[str, Any] | StreamingResponse:
        return await v1_pipelines.run_log(
            server, name, source=source, after=after, format=format, limit=limit
        )

    # -- Applications -----------------------------------------------------------------------------

    @app.get("/api/applications", dependencies=rules.require("applications", "get", FILTERED))
    async def applications(request: Request) -> dict[str, Any]:
        allowed = rules.allows(request, "applications", "get")
        listed = server.applications()
        listed["items"] = [i for i in listed["items"] if allowed(server.app_object(str(i.get("name", ""))))]
        return listed

    @app.get("/api/applications/{name}", dependencies=rules.app("get"))
    async def application(name: str) -> dict[str, Any]:
        return dict(server.application(name))

    @app.post("/api/applications/{name}/refresh", dependencies=rules.app("get"))
    async def refresh(name: str, wait: bool = False) -> JSONResponse:
        return _json(await server.refresh_application(name, wait=wait))

    @app.post("/api/applications/{name}/sync", dependencies=rules.app("sync"))
    async def sync(
        request: Request, name: str, body: SyncBody | None = None, wait: bool = False
    ) -> JSONResponse:
        given = body or SyncBody()
        asked = SyncRequest.manual(
            revision=given.revision,
            prune=given.prune,
            dry_run=given.dryRun,
            force=given.force,
            resources=given.resources,
            username=principal_of(request).subject,
        )
        return _json(await server.sync_application(name, asked, wait=wait))

    app.include_router(v1.router(server, rules))
    app.include_router(v1_windows.router(server, rules))
    app.include_router(v1_pipelines.router(server, rules))
    app.include_router(v1_clusters.router(server, rules))
    app.include_router(v1_appsets.router(server, rules))
    app.include_router(v1_access.router(server, rules))
    app.include_router(v1_metrics.router(server, rules))
    app.include_router(v1_promotions.router(server, rules))
    app.include_router(v1_changes.router(server, rules))
    app.include_router(v1_run_stream.router(server, rules))
    app.include_router(v1_app_summary.router(server, rules))
    app.include_router(web_ui.router())

    # -- lineage, health, metrics -----------------------------------------------------------------

    @app.get("/api/trace/{sha}", dependencies=rules.require("lineage", "get", lambda r: r.path_params["sha"]))
    async def trace(sha: str) -> dict[str, Any]:
        found = await asyncio.to_thread(server.trace, sha)
        return found.to_dict()

    @app.get("/api/status", dependencies=rules.require("server", "get", "status"))
    async def status() -> dict[str, Any]:
        return server.status()

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return _json(server.health())

    @app.get("/v1/cert.pem")
    async def certificate() -> Response:
        """The Sealed Secrets certificate to seal with, as the controller serves it (public, open)."""
        if server.sealing_key is None:
            raise StarletteHTTPException(404, "this server keeps no Sealed Secrets keys")
        key = await asyncio.to_thread(server.sealing_key)
        return Response(key.certificate_pem, media_type="application/x-pem-file")

    @app.get("/metrics", dependencies=rules.require("server", "get", "metrics"))
    async def prometheus() -> Response:
        data = await metrics.scrape()
        if data is None:
            raise StarletteHTTPException(404, "metrics need the prometheus-client package")
        return Response(data, media_type="text/plain; version=0.0.4; charset=utf-8")

    check_routes(app)
    return app
