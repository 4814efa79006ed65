"""The post-sync runner: watches the reconciler's status changes and, when a post-sync pipeline is due
(the rules are :mod:`gitloop.gitops.postsync`), launches its PipelineRun through the CI engine's
launcher (queued in the store, resumed after a restart), once per operation (a second launch of the
same run name is a conflict that is ignored), and lets the lineage link it to the source commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitloop.errors import GitloopError
from gitloop.gitops.postsync import (
    PIPELINE_ANNOTATION,
    PostSyncPipeline,
    Synced,
    due,
    pipeline_run,
)
from gitloop.gitops.status import AppStatus, OperationSummary
from gitloop.lineage import Lineage
from gitloop.model.images import images_in
from gitloop.model.trailers import TRAILER_SOURCE_COMMIT, parse_trailers
from gitloop.pipeline.inputs import load_inputs
from gitloop.ports import Store
from gitloop.service.server.engines import Conflict, PipelineLauncher
from gitloop.spec.argocd import Application

if TYPE_CHECKING:
    from gitloop.gitops.engine import Engine

log = logging.getLogger(__name__)

LAUNCHER_NAME = "gitloop.dev/post-sync"
"""The listener label of post-sync runs in the store (not a name an EventListener can have)."""
STORE_KIND = "PostSyncRun"
"""One record per ``<app>@<operation>``: the post-sync run started for that sync operation."""


def load_pipelines(paths: Sequence[Path]) -> dict[str, PostSyncPipeline]:
    """The Pipelines of the serve config's ``postSync.pipelines`` files."""
    if not paths:
        return {}
    inputs = load_inputs(paths)
    return {
        name: PostSyncPipeline(
            name,
            {p.name: p.type for p in pipeline.spec.params},
            tuple(w.name for w in pipeline.spec.workspaces),
        )
        for name, pipeline in inputs.pipelines.items()
    }


class PostSyncRunner:
    """Watches the reconciler's status changes and launches post-sync runs. ``start`` in the event loop."""

    def __init__(
        self,
        service: Engine,
        launcher: PipelineLauncher,
        lineage: Lineage,
        store: Store,
        pipelines: Mapping[str, PostSyncPipeline],
    ) -> None:
        self._service = service
        self._launcher = launcher
        self._lineage = lineage
        self._store = store
        self._pipelines = pipelines
        self._changes: asyncio.Queue[AppStatus | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._handled: set[str] = set()

    async def start(self) -> None:
        self._service.listeners.append(self._changes.put_nowait)
        self._task = asyncio.create_task(self._loop(), name="post-sync pipelines")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._changes.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _loop(self) -> None:
        while (status := await self._changes.get()) is not None:
            try:
                await self.consider(status)
            except GitloopError as exc:
                log.warning("post-sync pipeline of %s not started: %s", status.name, exc)
            except Exception:
                log.exception("post-sync pipeline of %s not started", status.name)

    async def consider(self, status: AppStatus) -> str:
        """Launch the post-sync run ``status`` calls for, if any; its name (``""`` if none)."""
        app = self._service.apps.apps.get(status.name)
        operation = due(app, status) if app is not None else None
        if app is None or operation is None:
            return ""
        key = f"{app.name}@{operation.id}"
        if key in self._handled:
            return ""
        self._handled.add(key)
        if await asyncio.to_thread(self._store.get, STORE_KIND, key) is not None:
            return ""
        try:
            pipeline = self._pipelines[app.annotations[PIPELINE_ANNOTATION].strip()]
            synced = await asyncio.to_thread(self._describe, app, operation)
            resource = pipeline_run(pipeline, synced)
            name = str(resource["metadata"]["name"])
            return await asyncio.to_thread(self._launch, key, synced, resource, name)
        except BaseException:
            self._handled.discard(key)  # a later status change tries again
            raise

    def _describe(self, app: Application, operation: OperationSummary) -> Synced:
        sources = self._service.sources
        revisions = operation.revisions
        images: tuple[str, ...] = ()
        if len(revisions) == len(app.sources):
            images = images_in(sources.render(app, revisions).manifests)
        source_commit = ""
        try:
            info = sources.commit_info(app.source.repo_url, revisions[0])
            source_commit = parse_trailers(info.message).get(TRAILER_SOURCE_COMMIT, "")
        except GitloopError as exc:
            log.info("%s: commit %s not readable: %s", app.name, revisions[0][:12], exc)
        return Synced(app, operation, images, source_commit)

    def _launch(self, key: str, synced: Synced, resource: dict[str, Any], name: str) -> str:
        operation = synced.operation
        source = self._lineage.record_post_sync(
            synced.source_commit,
            app=synced.app.name,
            run=name,
            revision=operation.revisions[0],
            operation=operation.id,
            started=time.time(),
        )
        try:
            self._launcher.launch(resource, event_id=f"post-sync:{operation.id}", source=source)
        except Conflict:
            log.info("%s: post-sync run %s exists already", synced.app.name, name)
        self._store.put(STORE_KIND, key, {"run": name, "app": synced.app.name, "operation": operation.id})
        log.info("%s: post-sync pipeline %s started for %s", synced.app.name, name, operation.id)
        return name
