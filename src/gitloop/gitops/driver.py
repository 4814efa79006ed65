"""The sync driver: takes a sync operation to its end — plan, drive, retry, record.

``Driver.run`` takes a started (or resumed) ``SyncOperation`` to its end:

1. plan the attempt: refresh at the request's revisions and sources (a rollback's older ones), check
   whether the destination namespace exists (``CreateNamespace``), ``plan_sync`` it — a manifest that
   cannot be planned fails the attempt with the reason;
2. drive it: observe the keys the step machine watches, ``decide``, store the operation (after every
   step, so a killed process resumes it), perform the actions (``gitloop.gitops.apply``), and when
   nothing was performed wait for a change to the Application's live objects (``LiveCache``
   notifications), the step machine's ``wake_at`` (the wave delay, 0 s by default) or, at most,
   ``poll`` seconds — waves are gated on health as fast as the API server reports it;
3. if it failed and ``syncPolicy.retry`` allows another attempt, wait ``backoff.delay(n)`` (stored as
   ``next_retry_at``, so a restarted process keeps the schedule) and plan again;
4. append the history entry (not for dry runs): revisions, sources, the synced commit, per-resource
   results, who started it, start and end.

``Prune=confirm`` resources are confirmed by a manual sync with ``--prune``; automated syncs wait.

An App of Apps parent's children (``gitloop.gitops.appofapps``) are registered through the
``ChildRegistrar`` port once an attempt is planned, before its first step (PreSync hooks included) —
not in sync-wave order: they are the engine's own objects, not the cluster's. The ones git no longer
holds go only when the sync prunes; a selective sync (``resources``) registers the children it selects
and prunes none; a dry run registers nothing.

The Application's status is the caller's (the reconciler folds the finished operation in).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeGuard

from gitloop.errors import GitError, GitloopError, SpecError
from gitloop.gitops import appofapps
from gitloop.gitops import operation as op
from gitloop.gitops.apply import ClusterActions
from gitloop.gitops.comparison import Comparison
from gitloop.gitops.history import history_owner
from gitloop.gitops.live import resource_version
from gitloop.gitops.operation import SyncOperation, SyncRequest
from gitloop.gitops.refresh import Refresher
from gitloop.gitops.status import AppStatus
from gitloop.gitops.sync import (
    ActionResult,
    LiveObservation,
    NamespaceMetadata,
    Observations,
    OperationPhase,
    OperationState,
    PlanInput,
    SyncOptions,
    SyncPlan,
    decide,
    plan_sync,
    request_termination,
    start,
    watched,
)
from gitloop.gitops.sync.plan import CLUSTER_SCOPED
from gitloop.model.resources import ResourceKey
from gitloop.ports import Store
from gitloop.spec.argocd import Application, ApplicationSource, source_from_raw
from gitloop.spec.redact import is_secret, keep_masked, redact_object

DEFAULT_POLL = 1.0
CATCH_UP = 0.2
"""Seconds the driver waits for the watch to report what it applied before reading it from the server."""


def plan(
    app: Application,
    comparison: Comparison,
    request: SyncRequest,
    options: SyncOptions,
    *,
    started_at: float,
    namespace_exists: bool = True,
    cluster_scoped: frozenset[tuple[str, str]] = frozenset(),
) -> SyncPlan:
    """The plan of one attempt of ``request`` from a fresh ``comparison`` (``SpecError`` if it cannot be)."""
    policy = app.sync_policy
    metadata = None
    if policy.managed_namespace_metadata:
        metadata = NamespaceMetadata(
            dict(policy.namespace_labels or {}), dict(policy.namespace_annotations or {})
        )
    return plan_sync(
        PlanInput(
            desired=list(comparison.desired),
            live=list(comparison.live.values()),
            namespace=app.destination.namespace,
            revision=request.revisions[0] if request.revisions else "",
            started_at=int(started_at),
            options=options,
            sync_status={r.key: r.status for r in comparison.resources},
            prune=request.prune,
            dry_run=request.dry_run,
            force=request.force,
            resources=request.resources,
            namespace_exists=namespace_exists,
            managed_namespace_metadata=metadata,
            cluster_scoped=CLUSTER_SCOPED | cluster_scoped,
        )
    )


class Driver:
    """Plans, drives, retries and records sync operations."""

    def __init__(
        self,
        refresher: Refresher,
        store: Store,
        *,
        wave_delay: float = 0.0,
        poll: float = DEFAULT_POLL,
        clock: Callable[[], float] = time.time,
        children: appofapps.ChildRegistrar | None = None,
    ) -> None:
        self.refresher = refresher
        self.store = store
        self.children = children
        self._wave_delay = wave_delay
        self._poll = poll
        self._clock = clock
        self.terminating: set[str] = set()
        """Applications whose running operation is to stop at its next step (``Engine.terminate``)."""

    def persist(self, operation: SyncOperation) -> None:
        """Store an operation (after every step), without the values of its Secrets."""
        doc = _without_secret_values(operation.to_dict())
        self.store.put(op.STORE_KIND, operation.app, doc, labels={"app": operation.app})

    def stored(self, app: str) -> SyncOperation | None:
        """The stored operation of ``app``; one left unfinished with Secrets is planned again on resume
        (their values were not kept)."""
        found = self.store.get(op.STORE_KIND, app)
        if found is None:
            return None
        doc: dict[str, Any] = dict(found.doc)
        tasks: list[dict[str, Any]] = ((doc.get("state") or {}).get("plan") or {}).get("tasks") or []
        if doc.get("finishedAt") is None and any(task.get(_VALUES_NOT_KEPT) for task in tasks):
            doc["state"] = None
        return SyncOperation.from_dict(doc)

    async def run(self, app: Application, operation: SyncOperation, status: AppStatus) -> SyncOperation:
        """Run ``operation`` of ``app`` to its end (retries included); returns the finished operation."""
        while True:
            if operation.next_retry_at is not None:
                await asyncio.sleep(max(0.0, operation.next_retry_at - self._clock()))
                operation = replace(operation, state=None, message="", next_retry_at=None, finished_at=None)
            if operation.state is None:
                operation = await self._plan(app, operation, status)
            if operation.state is not None:
                operation = await self._drive(app, operation)
            operation = replace(operation, finished_at=self._clock())
            retry = app.sync_policy.retry
            failed = operation.phase in (OperationPhase.FAILED, OperationPhase.ERROR)
            terminated = operation.state is not None and operation.state.message == "Operation terminated"
            terminated = terminated or operation.app in self.terminating
            if failed and not terminated and retry is not None and retry.allows(operation.retry_count):
                delay = retry.backoff.delay(operation.retry_count)
                operation = replace(
                    operation, next_retry_at=self._clock() + delay, retry_count=operation.retry_count + 1
                )
                await asyncio.to_thread(self.persist, operation)
                continue
            self.terminating.discard(operation.app)
            await asyncio.to_thread(self.persist, operation)
            if not operation.request.dry_run:
                await asyncio.to_thread(self._record, app, operation)
            return operation

    # -- planning -----------------------------------------------------------------------------------

    async def _plan(self, app: Application, operation: SyncOperation, status: AppStatus) -> SyncOperation:
        request = operation.request
        sources: tuple[ApplicationSource, ...] | None = None
        try:
            if request.sources:
                # Recorded sources are stored with URL passwords masked: the Application's own restore them.
                recorded = keep_masked([dict(s) for s in request.sources], [dict(s.raw) for s in app.sources])
                sources = tuple(source_from_raw(s) for s in recorded)
        except SpecError as exc:
            return self._planning_failed(operation, f"the recorded sources cannot be read: {exc}")
        refreshed = await self.refresher.refresh(
            app,
            status,
            revisions=request.revisions or None,
            sources=sources,
            fetched_after=operation.started_at,
        )
        comparison = refreshed.comparison
        if comparison is None or refreshed.view is None:
            errors = [f"{c.type.value}: {c.message}" for c in refreshed.status.conditions if c.type.is_error]
            message = "; ".join(errors) or "ComparisonError: the comparison failed"
            return replace(operation, state=None, message=message, finished_at=self._clock())
        if not request.revisions:
            raw = tuple(dict(s.raw) for s in (sources or app.sources))
            request = replace(request, revisions=comparison.revisions, sources=raw)
        elif not request.sources:
            request = replace(request, sources=tuple(dict(s.raw) for s in app.sources))
        namespace = app.destination.namespace
        exists = True
        if namespace:
            exists = await refreshed.view.get("v1", "Namespace", namespace, None) is not None
        placed = refreshed.placed
        try:
            planned = plan(
                app,
                comparison,
                request,
                refreshed.options,
                started_at=self._clock(),
                namespace_exists=exists,
                cluster_scoped=placed.cluster_scoped if placed else frozenset(),
            )
        except GitloopError as exc:
            return self._planning_failed(replace(operation, request=request), str(exc))
        if self.children is not None and not request.dry_run:
            chosen = appofapps.selected(refreshed.children, request.resources)
            await self.children.register(app.name, chosen, prune=request.prune and not request.resources)
        commit = await asyncio.to_thread(self._commit, app, request.revisions)
        state = start(planned, wave_delay=self._wave_delay)
        return replace(operation, request=request, state=state, commit=commit)

    def _planning_failed(self, operation: SyncOperation, message: str) -> SyncOperation:
        return replace(
            operation, state=None, message=f"ComparisonError: {message}", finished_at=self._clock()
        )

    def _commit(self, app: Application, revisions: tuple[str, ...]) -> dict[str, object]:
        """The synced commit's author, time and message ({} when git cannot say)."""
        if not revisions:
            return {}
        try:
            info = self.refresher.sources.commit_info(app.sources[0].repo_url, revisions[0])
        except GitError:
            return {}
        return {"sha": info.sha, "author": info.author, "time": info.time, "message": info.message}

    def _record(self, app: Application, operation: SyncOperation) -> int:
        return self.store.append_history(history_owner(app.name), op.history_entry(operation))

    # -- driving one attempt --------------------------------------------------------------------------

    async def _drive(self, app: Application, operation: SyncOperation) -> SyncOperation:
        """Drive ``operation`` (planned: ``state`` set) until its attempt completes; returns it then."""
        assert operation.state is not None, "plan the operation before running it"
        view = self.refresher.view_for(app)
        actions = ClusterActions(view, clock=self._clock)
        prune_confirmed = operation.request.prune and not operation.request.automated
        state: OperationState = operation.state
        api_versions = {task.key: task.api_version for task in state.plan.tasks}
        unconfirmed = dict.fromkeys(api_versions, 0)  # read from the server until the cache catches up
        results: list[ActionResult] = []
        times = dict(operation.times)
        while True:
            keys = watched(state)
            await self._catch_up(actions, operation.app, keys, unconfirmed)
            version = view.cache.version(operation.app)
            live = await view.observe({k: api_versions[k] for k in keys}, unconfirmed)
            observations = Observations(
                now=self._clock(),
                results=tuple(results),
                live={k: LiveObservation.of(obj) for k, obj in live.items()},
                prune_confirmed=prune_confirmed,
            )
            if operation.app in self.terminating:
                state = request_termination(state)
            decision = decide(state, observations)
            state = decision.state
            operation = replace(operation, state=state, times=dict(times))
            await asyncio.to_thread(self.persist, operation)
            results = await actions.perform(decision.actions, state, unconfirmed, times)
            if state.phase.completed:
                return operation  # after the last actions: hooks deleted or released by policy
            if not results:
                timeout = self._poll
                if decision.wake_at is not None:
                    timeout = max(0.0, min(timeout, decision.wake_at - self._clock()))
                if timeout > 0:
                    await view.cache.wait_change(operation.app, version, timeout)

    async def _catch_up(
        self,
        actions: ClusterActions,
        app: str,
        keys: frozenset[ResourceKey],
        unconfirmed: dict[ResourceKey, int],
    ) -> None:
        """Give the cache a moment (``CATCH_UP`` s) to see what was just applied, instead of reading it."""
        cache = actions.view.cache
        deadline = self._clock() + CATCH_UP

        def behind() -> bool:
            return any(
                0 < unconfirmed.get(k, 0) > resource_version(cache.get(k)) and cache.watching(k.group, k.kind)
                for k in keys
            )

        while behind() and (left := deadline - self._clock()) > 0:
            await cache.wait_change(app, cache.version(app), left)


_VALUES_NOT_KEPT = "valuesNotKept"


def _without_secret_values(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (a ``SyncOperation``'s) with every Secret task's manifest redacted by the one rule
    (``spec.redact.redact_object``): the store never holds a Secret's values (an unsealed
    SealedSecret's above all)."""
    state = doc.get("state")
    tasks = ((state or {}).get("plan") or {}).get("tasks") or []
    if not any(_is_secret(task.get("manifest")) for task in tasks):
        return doc
    kept = []
    for task in tasks:
        manifest = task.get("manifest")
        if _is_secret(manifest):
            task = {**task, "manifest": redact_object(manifest), _VALUES_NOT_KEPT: True}
        kept.append(task)
    assert state is not None
    return {**doc, "state": {**state, "plan": {**state["plan"], "tasks": kept}}}


def _is_secret(manifest: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(manifest, dict) and is_secret(manifest)
