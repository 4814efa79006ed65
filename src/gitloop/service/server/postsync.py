"""Post-sync pipelines: after a successful sync, run the Pipeline an Application names, with what was synced.

An Application opts in with annotations (the Argo CD way of configuring per-Application behaviour, as
notifications and Image Updater do)::

    metadata:
      annotations:
        gitloop.dev/post-sync-pipeline: smoke-and-promote   # a Pipeline of the serve config's postSync
        gitloop.dev/post-sync-param.promote-to: staging     # any further param, by name

Like Argo CD's ``PostSync`` hooks, the pipeline starts once the sync operation Succeeded and the
Application is Synced and Healthy — once per operation, whatever restarts happen in between (the
PipelineRun's name is derived from the operation id, and a second launch of it is a conflict that is
ignored). Unlike the Argo CD pattern of a PostSync Job that creates a PipelineRun, the run receives
what was synced as params (those its Pipeline declares): ``app-name``, ``revision``, ``repo-url``,
``path``, ``target-revision``, ``namespace``, ``images`` (array, or space-separated when declared a
string), ``image``, ``source-commit`` (the ``Gitloop-Source-Commit`` trailer of the synced commit),
``operation`` and ``synced-at``; every workspace the Pipeline declares is an ``emptyDir``. The runs go
through the CI engine's launcher (queued in the store, resumed after a restart) and the lineage links
them to the source commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitloop.errors import GitloopError, SpecError
from gitloop.gitops.status import AppStatus, OperationSummary
from gitloop.lineage import Lineage
from gitloop.model.health import HealthStatus
from gitloop.model.resources import Manifest
from gitloop.model.sync import SyncStatus
from gitloop.model.trailers import TRAILER_SOURCE_COMMIT, parse_trailers
from gitloop.ports import Store
from gitloop.service.pipeline_inputs import load_inputs
from gitloop.service.server.engines import Conflict, PipelineLauncher
from gitloop.spec.argocd import Application

if TYPE_CHECKING:
    from gitloop.service.apps import AppsService

log = logging.getLogger(__name__)

PIPELINE_ANNOTATION = "gitloop.dev/post-sync-pipeline"
PARAM_ANNOTATION_PREFIX = "gitloop.dev/post-sync-param."
LAUNCHER_NAME = "gitloop.dev/post-sync"
"""The listener label of post-sync runs in the store (not a name an EventListener can have)."""
STORE_KIND = "PostSyncRun"
"""One record per ``<app>@<operation>``: the post-sync run started for that sync operation."""
SYNCED_PARAMS = (
    "app-name",
    "revision",
    "repo-url",
    "path",
    "target-revision",
    "namespace",
    "images",
    "image",
    "source-commit",
    "operation",
    "synced-at",
)


@dataclass(frozen=True)
class PostSyncPipeline:
    """What a post-sync Pipeline declares: its params (name → type) and workspaces."""

    name: str
    params: Mapping[str, str]
    workspaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class Synced:
    """What a successful sync deployed, as the post-sync run receives it."""

    app: Application
    operation: OperationSummary
    images: tuple[str, ...]
    source_commit: str

    def values(self) -> dict[str, str | list[str]]:
        source = self.app.source
        finished = self.operation.finished_at or time.time()
        return {
            "app-name": self.app.name,
            "revision": self.operation.revisions[0] if self.operation.revisions else "",
            "repo-url": source.repo_url,
            "path": source.path,
            "target-revision": source.target_revision,
            "namespace": self.app.destination.namespace,
            "images": list(self.images),
            "image": self.images[0] if self.images else "",
            "source-commit": self.source_commit,
            "operation": self.operation.id,
            "synced-at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(finished)),
        }


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


def extra_params(app: Application) -> dict[str, str]:
    """The ``gitloop.dev/post-sync-param.<name>`` annotations of ``app``, by param name."""
    return {
        key[len(PARAM_ANNOTATION_PREFIX) :]: value
        for key, value in app.annotations.items()
        if key.startswith(PARAM_ANNOTATION_PREFIX)
    }


def check_applications(apps: Iterable[Application], pipelines: Mapping[str, PostSyncPipeline]) -> None:
    """Every post-sync pipeline an Application names exists and declares its annotation params."""
    for app in apps:
        name = app.annotations.get(PIPELINE_ANNOTATION, "").strip()
        extra = extra_params(app)
        where = app.where()
        if not name:
            if extra:
                raise SpecError(
                    f"Application {app.name}: {PARAM_ANNOTATION_PREFIX}* needs {PIPELINE_ANNOTATION}"
                )
            continue
        pipeline = pipelines.get(name)
        if pipeline is None:
            known = ", ".join(sorted(pipelines)) or "none: the serve config has no postSync.pipelines"
            raise SpecError(f"{where}: {PIPELINE_ANNOTATION}: no Pipeline {name!r} (known: {known})")
        for param in extra:
            if param not in pipeline.params:
                raise SpecError(
                    f"{where}: {PARAM_ANNOTATION_PREFIX}{param}: Pipeline {name} has no param {param!r}"
                )


def due(app: Application, status: AppStatus) -> OperationSummary | None:
    """The sync operation whose post-sync pipeline should start now: ``app`` names a pipeline, its last
    operation (not a dry run) Succeeded, and it is Synced and Healthy."""
    operation = status.operation
    if not app.annotations.get(PIPELINE_ANNOTATION, "").strip() or operation is None:
        return None
    if not operation.succeeded or operation.dry_run or not operation.revisions:
        return None
    if status.sync_status is not SyncStatus.SYNCED or status.health.status is not HealthStatus.HEALTHY:
        return None
    return operation


def run_name(app: str, operation: str) -> str:
    """The post-sync PipelineRun of one operation: the same name every time (a DNS-1123 label)."""
    digest = hashlib.sha256(f"{app}\0{operation}".encode()).hexdigest()[:10]
    return f"{app[:40].rstrip('-')}-post-sync-{digest}"


def params_for(pipeline: PostSyncPipeline, synced: Synced) -> list[dict[str, Any]]:
    """The run's params: what was synced and the annotation params, those the Pipeline declares."""
    values: dict[str, str | list[str]] = {**synced.values(), **extra_params(synced.app)}
    params: list[dict[str, Any]] = []
    for name, kind in pipeline.params.items():
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, list) and kind != "array":
            value = " ".join(value)
        elif isinstance(value, str) and kind == "array":
            value = [value] if value else []
        params.append({"name": name, "value": value})
    return params


def pipeline_run(pipeline: PostSyncPipeline, synced: Synced) -> dict[str, Any]:
    """The PipelineRun resource for ``synced``."""
    app, operation = synced.app.name, synced.operation.id
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "name": run_name(app, operation),
            "labels": {"gitloop.dev/application": app, "gitloop.dev/trigger": "post-sync"},
            "annotations": {"gitloop.dev/operation": operation},
        },
        "spec": {
            "pipelineRef": {"name": pipeline.name},
            "params": params_for(pipeline, synced),
            "workspaces": [{"name": w, "emptyDir": {}} for w in pipeline.workspaces],
        },
    }


def images_in(manifests: Iterable[Manifest]) -> tuple[str, ...]:
    """Every container image of the pod templates (and Pods) in ``manifests``, sorted, once each."""
    found: set[str] = set()
    for manifest in manifests:
        spec = manifest.get("spec")
        pods: list[dict[str, Any]] = (
            [spec] if manifest.get("kind") == "Pod" and isinstance(spec, dict) else []
        )
        while isinstance(spec, dict):
            template = spec.get("template") or spec.get("jobTemplate")
            if not isinstance(template, dict):
                break
            spec = template.get("spec")
            if isinstance(spec, dict) and ("containers" in spec or "initContainers" in spec):
                pods.append(spec)
        for pod in pods:
            for key in ("initContainers", "containers"):
                containers = pod.get(key)
                for container in containers if isinstance(containers, list) else ():
                    if isinstance(container, dict) and container.get("image"):
                        found.add(str(container["image"]))
    return tuple(sorted(found))


class PostSyncRunner:
    """Watches the reconciler's status changes and launches post-sync runs. ``start`` in the event loop."""

    def __init__(
        self,
        service: AppsService,
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
        self._service.reconciler.listeners.append(self._changes.put_nowait)
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
        self._lineage.record_post_sync(
            synced.source_commit,
            app=synced.app.name,
            run=name,
            revision=operation.revisions[0],
            operation=operation.id,
            started=time.time(),
        )
        try:
            self._launcher.launch(resource, event_id=f"post-sync:{operation.id}")
        except Conflict:
            log.info("%s: post-sync run %s exists already", synced.app.name, name)
        self._store.put(STORE_KIND, key, {"run": name, "app": synced.app.name, "operation": operation.id})
        log.info("%s: post-sync pipeline %s started for %s", synced.app.name, name, operation.id)
        return name
