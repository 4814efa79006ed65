"""Running sync operations: plan an attempt from a fresh comparison, drive it, retry it, record it.

``Operations.run`` takes a started (or resumed) ``SyncOperation`` to its end:

1. plan the attempt: refresh at the order's revisions and sources (a rollback's older ones), check
   whether the destination namespace exists (``CreateNamespace``), ``plan`` it — a manifest that
   cannot be planned fails the attempt with the reason;
2. drive it with ``SyncDriver`` (stored after every step);
3. if it failed and ``syncPolicy.retry`` allows another attempt, wait ``backoff.delay(n)`` (stored as
   ``next_retry_at``, so a restarted process keeps the schedule) and plan again;
4. append the history entry (not for dry runs): revisions, sources, the synced commit, per-resource
   results, who started it, start and end.

The Application's status is the caller's (the reconciler folds the finished operation in).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

from gitloop.errors import GitError, GitloopError, SpecError
from gitloop.gitops import syncop
from gitloop.gitops.history import history_owner
from gitloop.gitops.refresh import Refresher
from gitloop.gitops.status import AppStatus
from gitloop.gitops.sync import OperationPhase, start
from gitloop.gitops.sync_driver import DEFAULT_POLL, SyncDriver
from gitloop.gitops.syncop import SyncOperation
from gitloop.ports import Store
from gitloop.spec.argocd import Application, ApplicationSource, source_from_raw


class Operations:
    """Plans, drives, retries and records sync operations."""

    def __init__(
        self,
        refresher: Refresher,
        store: Store,
        *,
        wave_delay: float = 0.0,
        poll: float = DEFAULT_POLL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.refresher = refresher
        self.store = store
        self._wave_delay = wave_delay
        self._poll = poll
        self._clock = clock

    def persist(self, operation: SyncOperation) -> None:
        """Store an operation (after every step)."""
        self.store.put(syncop.STORE_KIND, operation.app, operation.to_dict(), labels={"app": operation.app})

    def stored(self, app: str) -> SyncOperation | None:
        found = self.store.get(syncop.STORE_KIND, app)
        return None if found is None else SyncOperation.from_dict(found.doc)

    async def run(self, app: Application, operation: SyncOperation, status: AppStatus) -> SyncOperation:
        """Run ``operation`` of ``app`` to its end (retries included); returns the finished operation."""
        while True:
            if operation.next_retry_at is not None:
                await asyncio.sleep(max(0.0, operation.next_retry_at - self._clock()))
                operation = replace(operation, state=None, message="", next_retry_at=None, finished_at=None)
            if operation.state is None:
                operation = await self._plan(app, operation, status)
            if operation.state is not None:
                view = self.refresher.view_for(app)
                driver = SyncDriver(view, self.persist, clock=self._clock, poll=self._poll)
                confirmed = operation.order.prune and not operation.order.automated
                operation = await driver.run(operation, prune_confirmed=confirmed)
            operation = replace(operation, finished_at=self._clock())
            retry = app.sync_policy.retry
            failed = operation.phase in (OperationPhase.FAILED, OperationPhase.ERROR)
            terminated = operation.state is not None and operation.state.message == "Operation terminated"
            if failed and not terminated and retry is not None and retry.allows(operation.retry_count):
                delay = retry.backoff.delay(operation.retry_count)
                operation = replace(
                    operation, next_retry_at=self._clock() + delay, retry_count=operation.retry_count + 1
                )
                await asyncio.to_thread(self.persist, operation)
                continue
            await asyncio.to_thread(self.persist, operation)
            if not operation.order.dry_run:
                await asyncio.to_thread(self._record, app, operation)
            return operation

    async def _plan(self, app: Application, operation: SyncOperation, status: AppStatus) -> SyncOperation:
        order = operation.order
        sources: tuple[ApplicationSource, ...] | None = None
        try:
            if order.sources:
                sources = tuple(source_from_raw(s) for s in order.sources)
        except SpecError as exc:
            return self._planning_failed(operation, f"the recorded sources cannot be read: {exc}")
        refreshed = await self.refresher.refresh(
            app,
            status,
            revisions=order.revisions or None,
            sources=sources,
            fetched_after=operation.started_at,
        )
        comparison = refreshed.comparison
        if comparison is None or refreshed.view is None:
            errors = [f"{c.type.value}: {c.message}" for c in refreshed.status.conditions if c.type.is_error]
            message = "; ".join(errors) or "ComparisonError: the comparison failed"
            return replace(operation, state=None, message=message, finished_at=self._clock())
        if not order.revisions:
            raw = tuple(dict(s.raw) for s in (sources or app.sources))
            order = replace(order, revisions=comparison.revisions, sources=raw)
        elif not order.sources:
            order = replace(order, sources=tuple(dict(s.raw) for s in app.sources))
        namespace = app.destination.namespace
        exists = True
        if namespace:
            exists = await refreshed.view.get("v1", "Namespace", namespace, None) is not None
        placed = refreshed.placed
        try:
            plan = syncop.plan(
                app,
                comparison,
                order,
                refreshed.options,
                started_at=self._clock(),
                namespace_exists=exists,
                cluster_scoped=placed.cluster_scoped if placed else frozenset(),
            )
        except GitloopError as exc:
            return self._planning_failed(replace(operation, order=order), str(exc))
        commit = await asyncio.to_thread(self._commit, app, order.revisions)
        state = start(plan, wave_delay=self._wave_delay)
        return replace(operation, order=order, state=state, commit=commit)

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
        return self.store.append_history(history_owner(app.name), syncop.history_entry(operation))
