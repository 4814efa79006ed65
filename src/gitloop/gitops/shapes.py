"""Applications as Argo CD's API shows them: ``argoproj.io/v1alpha1`` Application JSON. Pure.

What the engine knows (the ``Application`` as written, its ``AppStatus``, its history) is turned into
the object Argo CD's REST API returns, field for field, so clients written for Argo CD (its CLI's
``-o json``, Backstage's Argo CD plugin, scripts) read gitloop unchanged:

- ``metadata`` (name, namespace, labels, annotations, finalizers) and ``spec`` as written (URL passwords masked);
- ``status.sync`` (status, revision(s), ``comparedTo``), ``status.health``, ``status.resources`` (one per
  resource, with its own sync status and health), ``status.conditions``, ``status.summary.images``,
  ``status.reconciledAt``;
- ``status.operationState`` of the last or current sync operation (``operation.sync`` as asked, phase,
  message, ``syncResult.resources``, start and end, retries) and ``status.history``.

Times are RFC 3339 in UTC, as Kubernetes writes them. gitloop adds a few fields of its own where Argo
CD has nothing to say, always under a ``gitloop`` key, never by re-using one of Argo CD's names:
``status.history[].gitloop`` (``phase``: gitloop keeps failed syncs in the history too, which Argo CD
does not, a rollback only returns to a Succeeded entry; ``rollbackOf``; the synced commit's ``message``),
``status.operationState.gitloop`` (the operation id, dry run, self-heal attempts, the history entry a
rollback returned to), ``syncResult.resources[].gitloop.wave``, ``status.resources[].gitloop.message``
(why a resource is out of sync, when the comparison says) and ``status.gitloop.autoSyncPausedAt`` (the
revision a rollback paused auto-sync at). ``gitloop app`` prints from these objects in both its modes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from gitloop.gitops.status import AppStatus, OperationSummary, ResourceStatus
from gitloop.ports import HistoryEntry
from gitloop.spec.argocd import Application
from gitloop.spec.redact import redact_strings

API_VERSION = "argoproj.io/v1alpha1"


def timestamp(value: float | None) -> str | None:
    """RFC 3339 in UTC with second precision (``2026-12-07T15:43:38Z``); ``None`` for no time."""
    if not value:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))


def _version(api_version: str) -> str:
    return api_version.rpartition("/")[2]


def _sources(app: Application, raw: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``source`` or ``sources`` as the Application writes them (``raw``: recorded ones, if any)."""
    chosen = [dict(s) for s in raw] or [dict(s.raw) for s in app.sources]
    chosen = redact_strings(chosen)
    return {"sources": chosen} if app.multi_source else {"source": chosen[0] if chosen else {}}


def _revisions(app: Application, revisions: Sequence[str]) -> dict[str, Any]:
    if app.multi_source:
        return {"revisions": list(revisions)}
    return {"revision": revisions[0] if revisions else ""}


def destination(app: Application) -> dict[str, str]:
    found = {
        "server": app.destination.server,
        "name": app.destination.name,
        "namespace": app.destination.namespace,
    }
    return {k: v for k, v in found.items() if v}


def resource(status: ResourceStatus) -> dict[str, Any]:
    """One entry of ``status.resources``: Argo CD's ``ResourceStatus``."""
    key = status.key
    found: dict[str, Any] = {
        "group": key.group,
        "version": _version(status.api_version),
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "status": status.status.value,
    }
    if status.health is not None:
        found["health"] = {"status": status.health.status.value}
        if status.health.message:
            found["health"]["message"] = status.health.message
    if status.requires_pruning:
        found["requiresPruning"] = True
    if status.message:
        found["gitloop"] = {"message": status.message}
    return found


def _result(result: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of ``syncResult.resources``: Argo CD's ``ResourceResult``."""
    shown = {
        "group": result.get("group", ""),
        "kind": result.get("kind", ""),
        "namespace": result.get("namespace", ""),
        "name": result.get("name", ""),
        "status": result.get("status") or "",
        "message": result.get("message", ""),
        "hookPhase": result.get("hookPhase", ""),
        "syncPhase": result.get("syncPhase", ""),
    }
    if result.get("hookType"):
        shown["hookType"] = result["hookType"]
    shown["gitloop"] = {"wave": int(result.get("wave") or 0)}
    return shown


def operation_state(app: Application, summary: OperationSummary) -> dict[str, Any]:
    """``status.operationState`` of one sync operation."""
    initiated: dict[str, Any] = {"username": summary.username} if summary.username else {}
    if summary.automated:
        initiated["automated"] = True
    asked: dict[str, Any] = {**_revisions(app, summary.revisions), "prune": summary.prune}
    if summary.dry_run:
        asked["dryRun"] = True
    state: dict[str, Any] = {
        "operation": {"sync": asked, "initiatedBy": initiated},
        "phase": summary.phase,
        "message": summary.message,
        "startedAt": timestamp(summary.started_at),
        "retryCount": summary.retry_count,
        "gitloop": {
            "id": summary.id,
            "dryRun": summary.dry_run,
            "selfHealAttemptsCount": summary.self_heal_attempts,
            "rollbackOf": summary.rollback_of,
        },
    }
    if summary.finished_at is not None:
        state["finishedAt"] = timestamp(summary.finished_at)
    if summary.results or summary.revisions:
        state["syncResult"] = {
            "resources": [_result(r) for r in summary.results],
            **_revisions(app, summary.revisions),
            **_sources(app, summary.sources),
        }
    return state


def history_item(app: Application, entry: HistoryEntry) -> dict[str, Any]:
    """One entry of ``status.history``: Argo CD's ``RevisionHistory``."""
    doc: Mapping[str, Any] = entry.doc
    revisions = [str(r) for r in doc.get("revisions") or [doc.get("revision", "")]]
    commit: Mapping[str, Any] = doc.get("sourceCommit") or {}
    return {
        "id": entry.id,
        **_revisions(app, revisions),
        **_sources(app, doc.get("sources") or ()),
        "deployStartedAt": timestamp(doc.get("startedAt")),
        "deployedAt": timestamp(doc.get("finishedAt") or entry.time),
        "initiatedBy": dict(doc.get("initiatedBy") or {}),
        "gitloop": {
            "phase": doc.get("phase", ""),
            "operation": doc.get("operation", ""),
            "rollbackOf": doc.get("rollbackOf"),
            "message": str(commit.get("message", "")),
        },
    }


def application(app: Application, status: AppStatus, history: Sequence[HistoryEntry] = ()) -> dict[str, Any]:
    """The Application as Argo CD's API returns it."""
    metadata: dict[str, Any] = {"name": app.name, "namespace": app.namespace}
    if app.labels:
        metadata["labels"] = dict(app.labels)
    if app.annotations:
        metadata["annotations"] = dict(app.annotations)
    if app.finalizers:
        metadata["finalizers"] = list(app.finalizers)
    spec = (
        redact_strings(dict(app.spec))
        if app.spec
        else {
            **_sources(app, ()),
            "destination": destination(app),
            "project": app.project,
        }
    )
    health: dict[str, Any] = {"status": status.health.status.value}
    if status.health.message:
        health["message"] = status.health.message
    shown: dict[str, Any] = {
        "sync": {
            "status": status.sync_status.value,
            **_revisions(app, status.revisions),
            "comparedTo": {**_sources(app, ()), "destination": destination(app)},
        },
        "health": health,
        "resources": [resource(r) for r in status.resources],
        "conditions": [
            {"type": c.type.value, "message": c.message, "lastTransitionTime": timestamp(c.time)}
            for c in status.conditions
        ],
        "summary": {"images": list(status.images)} if status.images else {},
        "history": [history_item(app, e) for e in history],
        "reconciledAt": timestamp(status.reconciled_at),
    }
    if status.auto_sync_paused_at:
        shown["gitloop"] = {"autoSyncPausedAt": status.auto_sync_paused_at}
    if status.operation is not None:
        shown["operationState"] = operation_state(app, status.operation)
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": metadata,
        "spec": spec,
        "status": shown,
    }
