"""Notifications in ``gitloop serve``: the services opened from the ``notifications`` config
(``gitloop.notifiers``), the engine (``gitloop.notify.Notifications``) fed with the CD engine's status
changes and Application changes, with the PipelineRuns that end and with the promotions whose state
changes, and one worker task that sends the deliveries when they are due.

Every event goes through one queue to a thread (the engine writes the store): an Application's status
as Argo CD shows it (``gitloop.gitops.shapes``), with its AppProject's annotations and ``.commit`` (the
synced commit's ``Gitloop-Source-Commit`` trailer names the source commit; its lead time comes from the
lineage's trace). The worker wakes when a delivery is made and when the next one is due; at shutdown it
makes the attempts that are due within the grace period, and what is left stays pending in the store
for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gitloop.errors import GitloopError
from gitloop.gitops import shapes
from gitloop.gitops.status import AppStatus
from gitloop.lineage import Lineage, RunSource
from gitloop.model.trailers import TRAILER_SOURCE_COMMIT, parse_trailers
from gitloop.notifiers import open_service
from gitloop.notify import Notifications, Service
from gitloop.ports import Store
from gitloop.spec.argocd import Application
from gitloop.spec.serveconfig import ServeConfig

if TYPE_CHECKING:
    from gitloop.gitops.engine import Engine

log = logging.getLogger(__name__)

_IDLE = 60.0
"""The longest the worker sleeps without news (a delivery made by another server is seen then)."""


def served_url(config: ServeConfig) -> str:
    """The URL messages link to: ``notifications.url``, else the served address."""
    if config.notifications.url:
        return config.notifications.url
    return f"{'https' if config.tls is not None else 'http'}://{config.address}"


def open_services(config: ServeConfig) -> dict[str, Service]:
    """Every configured service, its secrets read; ``UsageError`` naming the service and file."""
    return {name: open_service(entry) for name, entry in config.notifications.services.items()}


class ServedNotifications:
    """The engine and its worker in the server's event loop: ``start``, feed, ``stop``."""

    def __init__(
        self,
        notifications: Notifications,
        lineage: Lineage,
        *,
        engine: Engine | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.notifications = notifications
        self._engine = engine
        self._lineage = lineage
        self._clock = clock
        self._events: asyncio.Queue[Callable[[], object] | None] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._commits: dict[str, tuple[str, dict[str, Any]]] = {}
        """Per Application, ``.commit`` of its last synced revision."""

    def watch(self, engine: Engine) -> None:
        """Hear ``engine``'s status changes and Application changes from now on."""
        self._engine = engine
        engine.listeners.append(self._status_changed)
        engine.changes.append(self._app_changed)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._event_loop(), name="notification events"),
            asyncio.create_task(self._send_loop(), name="notification deliveries"),
        ]

    async def stop(self, grace: float) -> None:
        """Stop hearing events, make the attempts due within ``grace`` seconds, then stop."""
        if not self._tasks:
            return
        self._events.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._tasks[0]
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._tasks[1], timeout=max(grace, 0.1))
        except (TimeoutError, asyncio.CancelledError):
            log.warning("notification deliveries still pending at shutdown are sent after the next start")
        self._tasks = []

    # -- events -----------------------------------------------------------------------------------

    def _status_changed(self, status: AppStatus) -> None:
        self._events.put_nowait(lambda: self._app_event(status.name, None))

    def _app_changed(self, app: Application, event: str) -> None:
        if event == "DELETED":
            self._events.put_nowait(lambda: self._app_event(app.name, app))
        elif event == "ADDED":
            self._events.put_nowait(lambda: self._app_event(app.name, None))

    def run_finished(self, name: str, manifest: Mapping[str, Any], source: RunSource | None) -> None:
        """A PipelineRun ended (a ``PipelinesLauncher.finished`` listener; any thread). Its Application is
        the one its lineage link names (a post-sync run's), if any; ``.commit.sha`` its source commit."""
        loop = self._loop
        if loop is None or manifest.get("kind", "PipelineRun") != "PipelineRun":
            return
        app = source.app if source is not None else ""
        commit = {"sha": source.commit} if source is not None else {}
        with contextlib.suppress(RuntimeError):  # the loop closed: the server is gone
            loop.call_soon_threadsafe(self._events.put_nowait, lambda: self._run_event(manifest, app, commit))

    def promotion_changed(self, promotion: Mapping[str, Any]) -> None:
        """A promotion's state changed (a ``ServedPromotions.changed`` listener; any thread): the
        Application it promotes into subscribes; ``.commit`` is its source commit and author."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: the server is gone
            loop.call_soon_threadsafe(self._events.put_nowait, lambda: self._promotion_event(promotion))

    def _promotion_event(self, promotion: Mapping[str, Any]) -> int:
        engine = self._engine
        app = engine.apps.apps.get(str(promotion.get("application", ""))) if engine is not None else None
        shown: dict[str, Any] | None = None
        annotations: dict[str, str] = {}
        if engine is not None and app is not None:
            shown = shapes.application(app, engine.status(app.name))
            annotations = self._project_annotations(app)
        commit = {"sha": promotion.get("sourceCommit", ""), "author": promotion.get("author", "")}
        made = self.notifications.promotion_changed(
            promotion, app=shown, project_annotations=annotations, commit=commit
        )
        return len(made)

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        return self._tasks[0].get_loop() if self._tasks else None

    async def _event_loop(self) -> None:
        while (handle := await self._events.get()) is not None:
            try:
                if await asyncio.to_thread(handle):
                    self._wake.set()
            except GitloopError as exc:
                log.warning("notifications not made: %s", exc)
            except Exception:
                log.exception("notifications not made")

    def _app_event(self, name: str, deleted: Application | None) -> int:
        engine = self._engine
        if engine is None:
            return 0
        app = deleted or engine.apps.apps.get(name)
        if app is None:
            return 0
        status = AppStatus(name) if deleted is not None else engine.status(name)
        shown = shapes.application(app, status)
        if deleted is not None or not status.reconciled_at:
            shown["status"] = {}  # not reconciled (yet, or any more): no sync status, as Argo CD's is empty
        if deleted is not None:
            shown["metadata"]["deletionTimestamp"] = shapes.timestamp(self._clock())
        made = self.notifications.app_changed(
            shown, project_annotations=self._project_annotations(app), commit=self._commit(app, status)
        )
        return len(made)

    def _run_event(self, run: Mapping[str, Any], app_name: str, commit: Mapping[str, Any]) -> int:
        engine = self._engine
        app = engine.apps.apps.get(app_name) if engine is not None and app_name else None
        shown: dict[str, Any] | None = None
        annotations: dict[str, str] = {}
        if engine is not None and app is not None:
            shown = shapes.application(app, engine.status(app.name))
            annotations = self._project_annotations(app)
        made = self.notifications.run_ended(run, app=shown, project_annotations=annotations, commit=commit)
        return len(made)

    def _project_annotations(self, app: Application) -> dict[str, str]:
        project = self._engine.apps.project(app.project) if self._engine is not None else None
        return dict(project.annotations) if project is not None else {}

    def _commit(self, app: Application, status: AppStatus) -> dict[str, Any]:
        """``.commit`` for ``app`` at its synced revision (kept for its last revision once the lead time is
        known)."""
        revision = status.operation.revisions[0] if status.operation and status.operation.revisions else ""
        revision = revision or status.revision
        if not revision or self._engine is None:
            return {}
        cached = self._commits.get(app.name)
        if cached is not None and cached[0] == revision and cached[1].get("leadTimeSeconds") != "":
            return cached[1]
        try:
            info = self._engine.sources.commit_info(app.sources[0].repo_url, revision)
        except GitloopError as exc:
            log.info("%s: commit %s not readable for notifications: %s", app.name, revision[:12], exc)
            return {}
        source = parse_trailers(info.message).get(TRAILER_SOURCE_COMMIT, "")
        found: dict[str, Any] = {
            "sha": source or info.sha,
            "author": "",
            "message": "",
            "leadTimeSeconds": "",
        }
        if not source:
            found.update(author=info.author, message=info.message.strip())
        found["configCommit"] = {"sha": info.sha, "author": info.author, "message": info.message.strip()}
        if source:
            with contextlib.suppress(GitloopError):
                trace = self._lineage.trace(source)
                lead = trace.per_app.get(app.name, trace.lead_time)
                found["leadTimeSeconds"] = "" if lead is None else round(lead)
        self._commits[app.name] = (revision, found)
        return found

    # -- deliveries -------------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.notifications.send_due)
            except Exception:
                log.exception("notification deliveries not attempted")
            if self._stopping:
                return
            due = await asyncio.to_thread(self.notifications.next_due)
            wait = _IDLE if due is None else min(_IDLE, max(0.0, due - self._clock()))
            self._wake.clear()
            if self._stopping:
                continue  # one last pass over what is due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)


async def start_notifications(
    config: ServeConfig, store: Store, lineage: Lineage
) -> ServedNotifications | None:
    """The served notifications of ``config`` (``None`` without services), started; ``watch`` gives them
    the CD engine, ``run_finished`` listens to a launcher."""
    if not config.notifications.enabled:
        return None
    services = await asyncio.to_thread(open_services, config)
    engine = Notifications(store, services, config.notifications, url=served_url(config))
    served = ServedNotifications(engine, lineage)
    await served.start()
    names = ", ".join(f"{n} ({s.type})" for n, s in services.items())
    log.info("notifications through %s", names)
    return served
