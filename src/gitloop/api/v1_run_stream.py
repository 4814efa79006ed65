"""The live side of ``/api/v1/pipelineruns`` for the web UI: server-sent event streams of the runs, of
one run with its TaskRuns, and of a run's log as its steps write it; and the Pipeline a run ran.

Runs are executed by worker threads that write their records and log lines to the store as they happen
(``gitloop.pipeline.store_writer``), so the store is the seam: each stream reads what is new in it at a
short interval (a log line by its ``seq``, a run by its manifest) and sends only the changes. Every event
is one ``data:`` JSON object with a ``type``:

- ``GET /api/v1/stream/pipelineruns[?limit=N&labelSelector=SEL]``: ``ADDED``/``MODIFIED``/``DELETED``
  with ``object`` (a PipelineRun), the current runs first as ``ADDED``; only runs the caller may ``get``.
- ``GET /api/v1/stream/pipelineruns/{name}``: ``RUN`` with ``run`` and ``taskRuns`` whenever either
  changes; ``END`` once the run has finished (the client closes).
- ``GET /api/v1/stream/pipelineruns/{name}/logs[?source=task/step&after=SEQ]``: ``LINES`` with
  ``lines`` (``seq``, ``source``, ``time``, ``text``, as the logs endpoint), each event's ``id`` the last
  ``seq`` so a reconnecting ``EventSource`` resumes after it (``Last-Event-ID``); ``END`` once the run
  has finished and its last lines were sent.
- ``GET /api/v1/pipelineruns/{name}/pipelinespec``: ``{"pipelineSpec": ...}`` (Tekton's
  ``status.pipelineSpec``; ``null`` when the run kept no copy), from which the UI draws the task graph.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from gitloop.api.access import FILTERED, Rules
from gitloop.errors import UsageError
from gitloop.model.selectors import parse_selector
from gitloop.pipeline.kept_spec import pipeline_spec
from gitloop.pipeline.records import find_run
from gitloop.service import pipelines
from gitloop.service.server import NotFound, Server

PREFIX = "/api/v1"
LOG_POLL = 0.1
"""Seconds between two reads of a run's new log lines (one indexed query by ``seq``)."""
RUN_POLL = 0.5
"""Seconds between two reads of one run and its TaskRuns."""
LIST_POLL = 1.0
"""Seconds between two reads of the list of runs."""
KEEP_ALIVE = 15.0
"""Seconds of silence after which a comment is sent, so proxies keep the connection."""
END_GRACE = 3
"""Reads of the log after its run finished before ``END``: the run's last lines may be written just
after its final status."""
LINES_PER_EVENT = 2_000

_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def finished(run: dict[str, Any]) -> bool:
    """Whether a Tekton-shaped run has ended (its ``Succeeded`` condition is no longer ``Unknown``)."""
    conditions = (run.get("status") or {}).get("conditions") or []
    return bool(conditions) and conditions[0].get("status") not in (None, "Unknown")


def _run_and_children(server: Server, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run and its TaskRuns in one read (runs a dead runner left are ended first)."""
    run, children = pipelines.get_run(server.store, name)
    return run.manifest, [child.manifest for child in children]


def _ended(server: Server, name: str) -> bool:
    """Whether the run has finished, from its record alone (one read, at the log's rate)."""
    record = find_run(server.store, name)
    manifest = record.doc.get("manifest") if record is not None else None
    return record is None or (isinstance(manifest, dict) and finished(manifest))


def _event(payload: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}data: {json.dumps(payload)}\n\n"


def _sse(
    request: Request, server: Server, poll: float, step: Callable[[], Awaitable[list[str] | None]]
) -> StreamingResponse:
    """A server-sent event stream calling ``step`` every ``poll`` seconds for the events to send
    (``None``: the stream is over) until the client leaves or the server stops."""

    async def events() -> AsyncIterator[str]:
        quiet = 0.0
        while not server.stopping.is_set() and not await request.is_disconnected():
            found = await step()
            if found is None:
                return
            for event in found:
                yield event
            quiet = 0.0 if found else quiet + poll
            if quiet >= KEEP_ALIVE:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(poll)

    return StreamingResponse(events(), media_type="text/event-stream", headers=_HEADERS)


def router(server: Server, rules: Rules) -> APIRouter:
    """The live PipelineRun routes of ``server`` under ``/api/v1``; a run's object is its name."""
    routes = APIRouter(prefix=PREFIX)

    def run(action: str) -> list[Any]:
        return rules.require("pipelineruns", action, lambda r: str(r.path_params["name"]))

    @routes.get("/pipelineruns/{name}/pipelinespec", dependencies=run("get"))
    async def spec(name: str) -> dict[str, Any]:
        record = await asyncio.to_thread(find_run, server.store, name)
        if record is None:
            raise NotFound(f"no run named {name!r}")
        return {"pipelineSpec": await asyncio.to_thread(pipeline_spec, record)}

    @routes.get("/stream/pipelineruns", dependencies=rules.require("pipelineruns", "get", FILTERED))
    async def stream_runs(
        request: Request, limit: Annotated[int | None, Query(ge=1)] = None, labelSelector: str = ""
    ) -> StreamingResponse:
        selector = parse_selector(labelSelector)
        visible = rules.allows(request, "pipelineruns", "get")
        seen: dict[str, str] = {}

        async def step() -> list[str]:
            listed = await asyncio.to_thread(server.runs, limit=limit, selector=selector, visible=visible)
            now = {str(item["metadata"]["name"]): item for item in listed["items"]}
            out = []
            for name in [n for n in seen if n not in now]:
                del seen[name]
                out.append(_event({"type": "DELETED", "object": {"metadata": {"name": name}}}))
            for name, item in reversed(now.items()):  # oldest first, so a client prepending keeps order
                text = json.dumps(item, sort_keys=True)
                if seen.get(name) != text:
                    kind = "MODIFIED" if name in seen else "ADDED"
                    seen[name] = text
                    out.append(_event({"type": kind, "object": item}))
            return out

        return _sse(request, server, LIST_POLL, step)

    @routes.get("/stream/pipelineruns/{name}", dependencies=run("get"))
    async def stream_run(request: Request, name: str) -> StreamingResponse:
        await asyncio.to_thread(server.run, name)  # 404 before the stream starts
        last = [""]

        async def step() -> list[str] | None:
            if last[0] == "END":
                return None
            try:
                found, children = await asyncio.to_thread(_run_and_children, server, name)
            except UsageError:  # deleted while watched
                last[0] = "END"
                return [_event({"type": "END"})]
            text = json.dumps([found, children], sort_keys=True)
            out = []
            if text != last[0]:
                last[0] = text
                out.append(_event({"type": "RUN", "run": found, "taskRuns": children}))
            if finished(found):
                last[0] = "END"
                out.append(_event({"type": "END"}))
            return out

        return _sse(request, server, RUN_POLL, step)

    @routes.get("/stream/pipelineruns/{name}/logs", dependencies=run("logs"))
    async def stream_logs(
        request: Request,
        name: str,
        source: str | None = None,
        after: Annotated[int, Query(ge=0)] = 0,
    ) -> StreamingResponse:
        await asyncio.to_thread(server.run, name)
        resumed = request.headers.get("last-event-id", "")
        position = [int(resumed) if resumed.isdigit() else after]
        grace = [END_GRACE]

        async def step() -> list[str] | None:
            if grace[0] <= 0:
                return None
            done = await asyncio.to_thread(_ended, server, name)
            lines = await asyncio.to_thread(
                server.logs, name, source=source, after=position[0], limit=LINES_PER_EVENT
            )
            out = []
            if lines:
                position[0] = int(lines[-1]["seq"])
                out.append(_event({"type": "LINES", "lines": lines}, position[0]))
            if done and len(lines) < LINES_PER_EVENT:
                grace[0] -= 1
                if grace[0] <= 0:
                    out.append(_event({"type": "END"}, position[0]))
            return out

        return _sse(request, server, LOG_POLL, step)

    return routes
