"""The ``AppRefresher`` on the CD engine (``gitloop.gitops.engine``), and the lineage it feeds.

``AppsRefresher`` runs the reconcile loop (``Engine.run``) in the server's event loop, refreshes
the Applications a push webhook names through the reconciler's refresh trigger, and answers the API
with the statuses the reconciler keeps. Every status change it is told of goes through one queue to
the lineage: a finished sync operation becomes a ``sync`` hop (the synced commit's trailers name the
source commit), and the first Synced + Healthy status at that revision a ``healthy`` hop.

For ``/api/v1`` it answers Argo CD's objects: list pages from the engine's memory (names sorted once,
``gitloop.gitops.query`` picking the page, only the page shaped), the Application, the resource tree,
managed resources, manifests and Events through the engine, and the stream of changes: every changed
status is offered to each ``Subscription`` whose query selects it, and one that is full is dropped.

Applications are created (``POST``: owner ``api``, kept in the store), replaced (``PUT``) and deleted
(``DELETE``) through the engine (``Engine.upsert``, ``Engine.delete``). A deletion answers at once, as
Argo CD's does, and runs in the background: meanwhile the Application shows
``metadata.deletionTimestamp``, the stream says ``DELETED`` when it is done and a ``GET`` answers 404
from then on; a deletion that fails leaves a ``DeletionError`` condition. ``PUT`` keeps the
Application's owner: one of the serve config's files is changed until the config registers it again.
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

from gitloop.errors import GitError, GitloopError, OperationInProgress, SpecError, SyncError, UsageError
from gitloop.gitops import apiobjects, deletion, shapes
from gitloop.gitops.applications import API_OWNER, document, refuse_url_passwords, unmasked
from gitloop.gitops.engine import Engine
from gitloop.gitops.history import rollback_request, rollback_target
from gitloop.gitops.operation import SyncRequest
from gitloop.gitops.query import AppQuery, page
from gitloop.gitops.resource import ResourceRef
from gitloop.gitops.status import AppStatus
from gitloop.lineage import Lineage
from gitloop.model.health import HealthStatus
from gitloop.model.sync import SyncStatus
from gitloop.service.apps import local_user
from gitloop.service.server.engines import Conflict, NotFound, Push, Subscription
from gitloop.service.server.metrics_feed import AppEvents
from gitloop.service.server.pushhooks import matching_apps
from gitloop.spec.argocd import DEFAULT_PROJECT, Application, AppProject, Destination

log = logging.getLogger(__name__)

_RUNNING = ("Running", "Terminating")
STREAM_BACKLOG = 256
"""Changes a stream reader may fall behind before it is dropped."""


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
        self._subscriptions: set[Subscription] = set()
        self._deletions: dict[str, asyncio.Task[None]] = {}
        self._names: tuple[int, list[str]] = (-1, [])
        self.app_events = AppEvents()  # sync operations and health transitions, for /metrics

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        self._engine.listeners.append(self._changes.put_nowait)
        self._engine.listeners.append(self._publish)
        self._engine.listeners.append(
            lambda s: self.app_events.observe(self._engine.apps.apps.get(s.name), s)
        )
        self._engine.refreshed.append(
            lambda s, took: self.app_events.reconciled(self._engine.apps.apps.get(s.name), took)
        )
        self._engine.changes.append(self._changed)
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
        for subscription in list(self._subscriptions):
            subscription.close()
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

    # -- /api/v1 -----------------------------------------------------------------------------------

    def _sorted_names(self) -> list[str]:
        apps = self._engine.apps
        if self._names[0] != apps.version:
            self._names = (apps.version, sorted(apps.apps))
        return self._names[1]

    def _entry(self, name: str) -> tuple[Application, AppStatus] | None:
        app = self._engine.apps.apps.get(name)
        return None if app is None else (app, self._engine.status(name))

    def list_applications(self, query: AppQuery) -> dict[str, Any]:
        found = page(self._sorted_names(), query, self._entry)
        items = []
        for name in found.names:
            entry = self._entry(name)
            if entry is not None:
                items.append(shapes.application(*entry))
        return apiobjects.application_list(items, found.continue_token)

    async def application(self, name: str, *, refresh: str = "") -> dict[str, Any]:
        app = self._app(name)
        if refresh not in ("", "normal", "hard"):
            raise UsageError(f"refresh must be normal or hard, not {refresh!r}")
        status = self._engine.status(name)
        if refresh:
            status = await self._engine.refresh(name, hard=refresh == "hard", auto_sync=True)
        history = await asyncio.to_thread(self._engine.history, name)
        shown = shapes.application(app, status, history)
        windows = self._engine.windows(name)
        if windows.assigned:  # gitloop's addition: the sync windows in force, as .../syncwindows answers
            shown["status"].setdefault("gitloop", {})["syncWindows"] = windows.response()
        return self._deleting(shown)

    def _deleting(self, shown: dict[str, Any]) -> dict[str, Any]:
        """``metadata.deletionTimestamp`` on an Application being deleted, as Argo CD shows it."""
        since = self._engine.deleting_since(shown["metadata"]["name"])
        if since is not None:
            shown["metadata"]["deletionTimestamp"] = shapes.timestamp(since)
        return shown

    async def _operation_shown(self, name: str, before: str, task: asyncio.Task[Any] | None = None) -> None:
        """Wait (briefly) until the status shows an operation other than ``before``, or ``task`` ended
        (its error raised)."""
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if task is not None and task.done():
                task.result()
                return
            operation = self._engine.status(name).operation
            if operation is not None and operation.id != before:
                return
            await asyncio.sleep(0.01)

    def _operation_id(self, name: str) -> str:
        operation = self._engine.status(name).operation
        return operation.id if operation is not None else ""

    async def start_sync(self, name: str, request: SyncRequest) -> dict[str, Any]:
        before = self._operation_id(name)
        await self.sync(name, request, wait=False)
        await self._operation_shown(name, before)
        return await self.application(name)

    async def rollback(
        self, name: str, history_id: int, *, prune: bool, dry_run: bool, username: str = ""
    ) -> dict[str, Any]:
        app = self._app(name)
        if name in self._operations_running():
            raise Conflict(f"{name}: another operation is already in progress")
        before = self._operation_id(name)
        user = username or local_user()
        if dry_run:  # nothing changes: no auto-sync refusal
            entries = await asyncio.to_thread(self._engine.history, name)
            entry = rollback_target(name, entries, history_id, app.revision_history_limit)
            request = replace(rollback_request(entry, prune=prune, username=user), dry_run=True)
            await self.sync(name, request, wait=False)
            await self._operation_shown(name, before)
        else:
            started = self._engine.rollback(name, history_id, prune=prune, username=user)
            task = asyncio.create_task(started, name=f"rollback {name}")
            self._tasks.add(task)
            task.add_done_callback(self._finished)
            try:
                await self._operation_shown(name, before, task)
            except OperationInProgress as exc:
                raise Conflict(str(exc)) from exc
        return await self.application(name)

    async def revert(self, name: str, *, username: str = "") -> dict[str, Any]:
        from gitloop.handoff.revert import RevertConflict
        from gitloop.service.revert import revert_rollback

        self._app(name)
        try:
            result = await revert_rollback(self._engine, name, username=username or local_user())
        except RevertConflict as exc:
            raise Conflict(str(exc)) from exc
        return {**await self.application(name), "revert": result.as_dict()}

    def terminate(self, name: str) -> None:
        self._app(name)
        self._engine.terminate(name)

    def sync_windows(self, name: str) -> dict[str, Any]:
        self._app(name)
        return self._engine.windows(name).response()

    async def resource_tree(self, name: str) -> dict[str, Any]:
        self._app(name)
        return await self._engine.resource_tree(name)

    async def managed_resources(self, name: str) -> dict[str, Any]:
        self._app(name)
        return {"items": await self._engine.managed_resources(name)}

    async def manifests(self, name: str) -> dict[str, Any]:
        self._app(name)
        return await self._engine.manifest_response(name)

    async def events(self, name: str) -> dict[str, Any]:
        self._app(name)
        items = await self._engine.events(name)
        return {"apiVersion": "v1", "kind": "EventList", "metadata": {}, "items": items}

    async def resource(self, name: str, ref: ResourceRef) -> dict[str, Any]:
        self._app(name)
        return {"manifest": await self._engine.live_resource(name, ref)}

    def subscribe(self, query: AppQuery) -> Subscription:
        current = [e for n in self._sorted_names() if (e := self._entry(n)) is not None and query.matches(*e)]
        subscription = Subscription(query, size=STREAM_BACKLOG + len(current))
        for app, status in current:
            subscription.offer({"result": {"type": "ADDED", "application": shapes.application(app, status)}})
        self._subscriptions.add(subscription)
        return subscription

    def _publish(self, status: AppStatus) -> None:
        """Offer a changed status to every subscriber it concerns; drop those that fell behind."""
        app = self._engine.apps.apps.get(status.name)
        if app is None:
            return
        event: dict[str, Any] | None = None
        for subscription in list(self._subscriptions):
            if subscription.closed:
                self._subscriptions.discard(subscription)
                continue
            if not subscription.query.matches(app, status):
                continue
            if event is None:
                shown = self._deleting(shapes.application(app, status))
                event = {"result": {"type": "MODIFIED", "application": shown}}
            if not subscription.offer(event):
                self._subscriptions.discard(subscription)
                log.warning("an Application stream fell %d changes behind: dropped", STREAM_BACKLOG)

    def _changed(self, app: Application, event: str) -> None:
        """An Application was created, its spec changed or it was deleted: tell the subscribers."""
        status = AppStatus(app.name) if event == "DELETED" else self._engine.status(app.name)
        shown: dict[str, Any] | None = None
        for subscription in list(self._subscriptions):
            if subscription.closed or not subscription.query.matches(app, status):
                continue
            if shown is None:
                shown = {"result": {"type": event, "application": shapes.application(app, status)}}
            if not subscription.offer(shown):
                self._subscriptions.discard(subscription)

    def _refuse(self, app: Application) -> None:
        problems = self._engine.problems(app)
        if problems:
            raise SpecError(f"application spec for {app.name} is invalid: {'; '.join(problems)}")

    def _unmasked(self, app: Application) -> Application:
        return unmasked(app, self._engine.apps.apps.get(app.name))

    async def create(self, app: Application, *, upsert: bool) -> dict[str, Any]:
        app = self._unmasked(app)
        existing = self._engine.apps.apps.get(app.name)
        if existing is not None and not upsert:
            if document(existing) == document(app):
                return await self.application(app.name)
            raise Conflict("existing application spec is different, use upsert flag to force update")
        self._refuse(app)
        refuse_url_passwords(app)
        self._engine.upsert(app, owner=API_OWNER)
        return await self.application(app.name)

    async def update(self, name: str, app: Application) -> dict[str, Any]:
        self._app(name)
        if app.name != name:
            raise UsageError(f"the Application's metadata.name {app.name!r} is not {name!r}")
        app = self._unmasked(app)
        self._refuse(app)
        owner = self._engine.apps.owner(name)
        if owner == API_OWNER:
            refuse_url_passwords(app)
        self._engine.upsert(app, owner=owner)
        return await self.application(name)

    def delete(self, name: str, *, cascade: bool | None, propagation: str | None) -> None:
        app = self._app(name)
        deletion.propagation_of(app, propagation)  # a wrong value is refused now, not in the background
        running = self._deletions.get(name)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(
            self._engine.delete(name, cascade=cascade, propagation=propagation), name=f"delete {name}"
        )
        self._deletions[name] = task
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def project_of(self, name: str) -> str | None:
        app = self._engine.apps.apps.get(name)
        return app.project if app is not None else None

    def project_specs(self) -> list[AppProject]:
        known = dict(self._engine.apps.projects)
        known.setdefault(DEFAULT_PROJECT.name, DEFAULT_PROJECT)
        return list(known.values())

    def projects(self) -> dict[str, Any]:
        known = dict(self._engine.apps.projects)
        known.setdefault(DEFAULT_PROJECT.name, DEFAULT_PROJECT)
        return apiobjects.project_list(known.values())

    def project(self, name: str) -> dict[str, Any]:
        found = self._engine.apps.project(name)
        if found is None:
            raise NotFound(f"no AppProject named {name!r}")
        return apiobjects.project(found)

    def destinations(self) -> list[Destination]:
        """Every Application's destination (the cluster registry counts them per cluster)."""
        return [app.destination for app in self._engine.apps.apps.values()]

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
        if status.health.status is HealthStatus.DEGRADED and status.revision:
            self._lineage.record_degraded(
                app.name, status.revision, degraded=status.reconciled_at or self._clock()
            )
