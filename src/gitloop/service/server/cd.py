"""The ``AppRefresher`` on the CD engine (``gitloop.gitops.engine``), and the lineage it feeds.

``AppsRefresher`` runs the reconcile loop (``Engine.run``) in the server's event loop, refreshes
the Applications a push webhook names through the reconciler's refresh trigger, and answers the API
with the statuses the reconciler keeps. Every status change it is told of goes through one queue to
the lineage: a finished sync operation becomes a ``sync`` hop (the synced commit's trailers name the
source commit), and the first Synced + Healthy status at that revision a ``healthy`` hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from gitloop.errors import GitError, GitloopError, OperationInProgress, SyncError
from gitloop.gitops.engine import Engine
from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.status import AppStatus
from gitloop.lineage import Lineage
from gitloop.model.health import HealthStatus
from gitloop.model.sync import SyncStatus
from gitloop.service.apps import local_user
from gitloop.service.server.engines import Conflict, NotFound, Push
from gitloop.service.server.pushhooks import matching_apps
from gitloop.spec.argocd import Application

log = logging.getLogger(__name__)

_RUNNING = ("Running", "Terminating")


def describe(app: Application, status: AppStatus) -> dict[str, Any]:
    """An Application as the API shows it: spec summary, sync, health, resources, operation."""
    doc = status.to_dict()
    spec: dict[str, Any] = {
        "project": app.project,
        "destination": {
            k: v
            for k, v in (
                ("server", app.destination.server),
                ("name", app.destination.name),
                ("namespace", app.destination.namespace),
            )
            if v
        },
    }
    if app.multi_source:
        spec["sources"] = [dict(s.raw) for s in app.sources]
    else:
        spec["source"] = dict(app.source.raw)
    return {"metadata": {"name": app.name, "namespace": app.namespace}, "spec": spec, "status": doc}


class AppsRefresher:
    """The server's view of the CD engine. ``start`` inside the server's event loop."""

    def __init__(self, engine: Engine, lineage: Lineage, *, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._lineage = lineage
        self._clock = clock
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watch: asyncio.Task[None] | None = None
        self._changes: asyncio.Queue[AppStatus | None] = asyncio.Queue()
        self._recorder: asyncio.Task[None] | None = None
        self._handled_operations: set[str] = set()

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        self._engine.listeners.append(self._changes.put_nowait)
        self._recorder = asyncio.create_task(self._record_loop(), name="lineage recorder")
        self._watch = asyncio.create_task(self._engine.run(self._stop), name="reconcile loop")
        await asyncio.sleep(0)  # the loop takes its refresh triggers from its first step on

    def _operations_running(self) -> list[str]:
        running = []
        for name in self.names():
            operation = self._engine.status(name).operation
            if operation is not None and operation.phase in _RUNNING:
                running.append(name)
        return running

    async def drain(self, grace: float, force: threading.Event | None = None) -> None:
        if self._stop.is_set():
            return
        deadline = time.monotonic() + grace
        while (running := self._operations_running()) and time.monotonic() < deadline:
            if force is not None and force.is_set():
                break
            await asyncio.sleep(0.1)
        if running:
            log.warning("stopping with sync operations running (resumed on the next start): %s", running)
        self._stop.set()
        if self._watch is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._changes.put_nowait(None)
        if self._recorder is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._recorder, timeout=max(1.0, deadline - time.monotonic()))

    # -- AppRefresher -----------------------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self._engine.apps.apps)

    def _app(self, name: str) -> Application:
        found = self._engine.apps.apps.get(name)
        if found is None:
            raise NotFound(f"no Application named {name!r}")
        return found

    def apps_for_push(self, push: Push) -> list[str]:
        sources = {
            name: [(s.repo_url, s.target_revision) for s in app.sources]
            for name, app in self._engine.apps.apps.items()
        }
        return matching_apps(push, sources)

    def refresh(self, app_names: Sequence[str]) -> None:
        if not app_names:
            return
        try:
            self._engine.trigger(list(app_names))
        except SyncError as exc:  # not reconciling (stopping): the next start refreshes everything
            log.warning("refresh of %s not triggered: %s", ", ".join(app_names), exc)

    def status(self, name: str) -> Mapping[str, Any]:
        app = self._app(name)
        return describe(app, self._engine.status(name))

    async def refresh_now(self, name: str) -> Mapping[str, Any]:
        app = self._app(name)
        status = await self._engine.refresh(name, hard=True, auto_sync=True)
        return describe(app, status)

    async def sync(self, name: str, request: SyncRequest, *, wait: bool) -> Mapping[str, Any]:
        self._app(name)
        if name in self._operations_running():
            raise Conflict(f"{name}: another operation is already in progress")
        try:
            task = await self._engine.start_sync(
                name, replace(request, username=request.username or local_user())
            )
        except OperationInProgress as exc:
            raise Conflict(str(exc)) from exc
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        if not wait:
            return {"application": name, "phase": "Running", "message": "sync started"}
        try:
            operation = await task
        except OperationInProgress as exc:
            raise Conflict(str(exc)) from exc
        return operation.summary().to_dict()

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: %s", task.get_name(), task.exception())

    # -- lineage ----------------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        while (status := await self._changes.get()) is not None:
            try:
                await asyncio.to_thread(self._record, status)
            except GitloopError as exc:
                log.warning("lineage of %s not recorded: %s", status.name, exc)
            except Exception:
                log.exception("lineage of %s not recorded", status.name)

    def _record(self, status: AppStatus) -> None:
        app = self._engine.apps.apps.get(status.name)
        if app is None:
            return
        operation = status.operation
        if (
            operation is not None
            and operation.completed
            and not operation.dry_run
            and operation.revisions
            and operation.id not in self._handled_operations
        ):
            self._handled_operations.add(operation.id)
            revision = operation.revisions[0]
            repo = app.sources[0].repo_url
            try:
                info = self._engine.sources.commit_info(repo, revision)
            except GitError as exc:
                log.info("%s: commit %s not readable for the lineage: %s", app.name, revision[:12], exc)
                return
            self._lineage.record_sync(
                app.name,
                revision,
                info.message,
                repo=repo,
                committed=info.time,
                operation=operation.to_dict(),
            )
        healthy = status.health.status is HealthStatus.HEALTHY and status.sync_status is SyncStatus.SYNCED
        if healthy and status.revision:
            self._lineage.record_healthy(
                app.name, status.revision, healthy=status.reconciled_at or self._clock()
            )
