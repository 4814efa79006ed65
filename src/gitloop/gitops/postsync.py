"""Post-sync rules (CD domain): which Application's sync operation calls for its post-sync Pipeline,
and the PipelineRun that receives what was synced.

An Application opts in with annotations (the Argo CD way of configuring per-Application behaviour, as
notifications and Image Updater do)::

    metadata:
      annotations:
        gitloop.dev/post-sync-pipeline: smoke-and-promote   # a Pipeline of the serve config's postSync
        gitloop.dev/post-sync-param.promote-to: staging     # any further param, by name

Like Argo CD's ``PostSync`` hooks, the pipeline is due once the sync operation Succeeded and the
Application is Synced and Healthy (:func:`due`); the PipelineRun's name is derived from the operation
id (:func:`run_name`), so it is the same whatever restarts happen in between. The run receives what
was synced as params (those its Pipeline declares): ``app-name``, ``revision``, ``repo-url``,
``path``, ``target-revision``, ``namespace``, ``images`` (array, or space-separated when declared a
string), ``image``, ``source-commit`` (the ``Gitloop-Source-Commit`` trailer of the synced commit),
``operation`` and ``synced-at``; every workspace the Pipeline declares is an ``emptyDir``.

Pure: the runner that watches statuses and launches the runs is the composition layer's
(:mod:`gitloop.service.server.postsync`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gitloop.errors import SpecError
from gitloop.gitops.status import AppStatus, OperationSummary
from gitloop.model.health import HealthStatus
from gitloop.model.sync import SyncStatus
from gitloop.spec.argocd import Application

PIPELINE_ANNOTATION = "gitloop.dev/post-sync-pipeline"
PARAM_ANNOTATION_PREFIX = "gitloop.dev/post-sync-param."
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
