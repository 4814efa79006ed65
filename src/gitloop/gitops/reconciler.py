"""The reconciler: refresh, auto-sync and sync operations as Argo CD's application controller does them.

``refresh`` compares an Application with git and the cluster (``gitloop.gitops.refresh``), keeps its
conditions (``SyncError`` only while the revision stays the same, the rollback pause only until git
moves) and, with ``auto_sync``, lets ``autosync.decide`` start an automated sync or self-heal.
``sync`` and ``rollback`` run operations; each Application runs at most one at a time, in its own
task, and its end (phase, per-resource results, ``SyncError`` on failure) is folded into the status.
The status is stored whenever it changes. ``gitloop.gitops.loop`` drives refreshes continuously;
``gitloop.gitops.engine`` wires the two with the refresher and the driver.

Sync windows (``gitloop.gitops.windows``) gate the auto-sync: a blocked one leaves a
``SyncWindowBlocked`` condition (dropped at the next refresh that is not blocked) and asks for a
refresh at the next window boundary; ``windows(app)`` is the state the faces show and check.

Hooks for the loop: ``schedule(name, delay)`` asks for a refresh later (self-heal backoff, windows),
``on_view`` is told of every cluster view a refresh used (to subscribe to its live changes).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace

from gitloop.errors import OperationInProgress, SyncError
from gitloop.gitops import autosync
from gitloop.gitops.applications import Applications
from gitloop.gitops.autosync import SelfHealBackoff
from gitloop.gitops.diff import CompareOptions
from gitloop.gitops.driver import Driver
from gitloop.gitops.history import history_owner, rollback_request, rollback_target
from gitloop.gitops.observe import ClusterView
from gitloop.gitops.operation import SyncOperation, SyncRequest, new_operation
from gitloop.gitops.refresh import Refresher
from gitloop.gitops.status import STORE_KIND, AppStatus, Condition, ConditionType
from gitloop.gitops.windows import WindowState, state
from gitloop.ports import HistoryEntry, Store
from gitloop.spec.argocd import Application


@dataclass(frozen=True)
class Settings:
    """How the reconciler and its loop pace themselves."""

    poll_interval: float = 180.0
    jitter: float = 0.2
    workers: int = 8
    wave_delay: float = 0.0
    max_operations: int = 32
    """Sync operations running at once (the others queue); bounds the load on the API server."""
    driver_poll: float = 1.0
    debounce: float = 0.05
    """Seconds a change of a tracked object waits for more changes before its Application is refreshed."""
    self_heal: SelfHealBackoff = field(default_factory=SelfHealBackoff)
    compare: CompareOptions | None = None


def _without_sync_errors(status: AppStatus) -> list[Condition]:
    return [c for c in status.conditions if c.type is not ConditionType.SYNC_ERROR]


class Reconciler:
    """Reconciles the Applications of one live ``Applications`` set."""

    def __init__(
        self,
        apps: Applications,
        refresher: Refresher,
        driver: Driver,
        store: Store,
        *,
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.apps, self.store, self.settings = apps, store, settings
        self._clock = clock
        self.refresher = refresher
        self.driver = driver
        self.fetched_after = 0.0
        """A refresh fetches git unless a fetch started at or after this time (the loop's round)."""
        self.running: dict[str, asyncio.Task[SyncOperation]] = {}
        self.deleting: dict[str, float] = {}
        """Applications being deleted, with the time the deletion started: refreshed, never auto-synced."""
        self.schedule: Callable[[str, float], None] = lambda name, delay: None
        self.on_view: Callable[[ClusterView], None] = lambda view: None
        self.listeners: list[Callable[[AppStatus], None]] = []
        """Called with every status that changed (beyond its reconcile time), after it is stored."""
        self.refreshed: list[Callable[[AppStatus, float], None]] = []
        """Called after every refresh, changed or not, with the seconds it took (for metrics)."""
        self._status: dict[str, AppStatus] = {}
        self._saved: dict[str, dict[str, object]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(self.settings.max_operations)

    def now(self) -> float:
        return self._clock()

    def status(self, name: str) -> AppStatus:
        """The last known status of ``name`` (from the store when this process has none yet)."""
        if name not in self._status:
            found = self.store.get(STORE_KIND, name)
            self._status[name] = AppStatus.from_dict(found.doc) if found else AppStatus(name)
        return self._status[name]

    async def _save(self, status: AppStatus) -> None:
        """Make ``status`` current, and store it when more than its reconcile time changed (not for an
        Application deleted meanwhile)."""
        if status.name not in self.apps.apps:
            return
        self._status[status.name] = status
        doc = status.to_dict()
        compared = {k: v for k, v in doc.items() if k != "reconciledAt"}
        if self._saved.get(status.name) != compared:
            self._saved[status.name] = compared
            labels = {"sync": status.sync_status.value, "health": status.health.status.value}
            await asyncio.to_thread(self.store.put, STORE_KIND, status.name, doc, labels=labels)
            for listener in self.listeners:
                listener(status)

    def _lock(self, name: str) -> asyncio.Lock:
        """Serialises the read-modify-write of one Application's status."""
        return self._locks.setdefault(name, asyncio.Lock())

    def windows(self, app: Application) -> WindowState:
        """What the sync windows of ``app``'s project say now (allowed when the project is unknown: the
        project's own check refuses it)."""
        project = self.apps.project(app.project)
        return state(project.sync_windows if project else (), app, self._clock())

    def history(self, name: str) -> list[HistoryEntry]:
        self.apps.app(name)
        return self.store.history(history_owner(name))

    async def refresh(self, name: str, *, hard: bool = False, auto_sync: bool = True) -> AppStatus:
        """Refresh ``name`` (``hard``: fetch git now) and, with ``auto_sync``, apply its sync policy."""
        app = self.apps.app(name)
        async with self._lock(name):
            started = time.perf_counter()
            previous = self.status(name)
            fetched_after = self._clock() if hard else self.fetched_after
            done = await self.refresher.refresh(app, previous, fetched_after=fetched_after)
            status = done.status
            if done.view is not None:
                self.on_view(done.view)
            if status.revisions != previous.revisions:
                status = status.with_conditions(_without_sync_errors(status), self._clock())
            if status.auto_sync_paused_at and status.auto_sync_paused_at != ",".join(status.revisions):
                status = replace(status, auto_sync_paused_at="")
            if auto_sync and done.comparison is not None and name not in self.deleting:
                decision = autosync.decide(
                    app,
                    replace(status, sync_status=previous.sync_status),
                    done.comparison,
                    now=self._clock(),
                    operation_running=name in self.running,
                    backoff=self.settings.self_heal,
                    window=self.windows(app),
                )
                added = decision.condition
                kept = [
                    c
                    for c in status.conditions
                    if c.type is not ConditionType.SYNC_WINDOW_BLOCKED
                    and (added is None or c.type is not added.type)
                ]
                if added is not None or len(kept) != len(status.conditions):
                    status = status.with_conditions([*kept, *([added] if added else [])], self._clock())
                if decision.sync:
                    automated = app.sync_policy.automated
                    request = SyncRequest(
                        revisions=done.comparison.revisions,
                        sources=tuple(dict(s.raw) for s in app.sources),
                        prune=bool(automated and automated.prune),
                        automated=True,
                        self_heal_attempts=decision.self_heal_attempts,
                        resources=decision.resources,
                    )
                    self.start(name, new_operation(name, request, now=self._clock()))
                elif decision.retry_after is not None:
                    self.schedule(name, decision.retry_after)
            await self._save(status)
            took = time.perf_counter() - started
        for listener in self.refreshed:
            listener(status, took)
        return status

    def start(self, name: str, operation: SyncOperation) -> asyncio.Task[SyncOperation]:
        """Run ``operation`` of ``name`` in a task of its own; ``OperationInProgress`` if one already runs."""
        if name in self.running:
            raise OperationInProgress(f"{name}: another operation is already in progress")
        task = asyncio.create_task(self._operate(name, operation), name=f"sync {name}")
        self.running[name] = task
        return task

    async def _operate(self, name: str, operation: SyncOperation) -> SyncOperation:
        app = self.apps.app(name)
        async with self._lock(name):
            await self._save(replace(self.status(name), operation=operation.summary()))
        try:
            async with self._slots:
                final = await self.driver.run(app, operation, self.status(name))
        finally:
            self.running.pop(name, None)
        summary = final.summary()
        async with self._lock(name):
            status = self.status(name)
            kept = _without_sync_errors(status)
            if not summary.succeeded and not summary.dry_run:
                kept.append(Condition(ConditionType.SYNC_ERROR, summary.message))
            await self._save(replace(status, operation=summary).with_conditions(kept, self._clock()))
        self.schedule(name, 0.0)
        return final

    async def note(self, name: str, condition: Condition) -> None:
        """Replace ``name``'s conditions of ``condition``'s type by ``condition`` (a deletion's error)."""
        async with self._lock(name):
            status = self.status(name)
            kept = [c for c in status.conditions if c.type is not condition.type]
            await self._save(status.with_conditions([*kept, condition], self._clock()))

    def forget(self, name: str) -> None:
        """Drop ``name``'s status, in memory and in the store (its history stays)."""
        self._status.pop(name, None)
        self._saved.pop(name, None)
        self._locks.pop(name, None)
        self.store.delete(STORE_KIND, name)

    def resume(self) -> None:
        """Start again every operation an earlier process left unfinished (they are stored)."""
        for name in self.apps.apps:
            stored = self.driver.stored(name)
            if stored is not None and not stored.completed and name not in self.running:
                self.start(name, stored)

    async def start_sync(self, name: str, request: SyncRequest) -> asyncio.Task[SyncOperation]:
        """Start a sync of ``name`` (an operation interrupted earlier is finished first); its task.

        ``OperationInProgress`` when an operation of ``name`` is already running."""
        self.apps.app(name)
        stored = self.driver.stored(name)
        if stored is not None and not stored.completed and name not in self.running:
            await self.start(name, stored)
        return self.start(name, new_operation(name, request, now=self._clock()))

    async def rollback(
        self,
        name: str,
        history_id: int | None = None,
        *,
        disable_auto_sync: bool = False,
        prune: bool = False,
        username: str = "",
    ) -> SyncOperation:
        """Sync ``name`` back to a history entry (by default the one before the last).

        Refused while automated sync is on — it would sync back to git at once — unless
        ``disable_auto_sync``, which pauses auto-sync until git moves past its current revision."""
        app = self.apps.app(name)
        entry = rollback_target(name, self.history(name), history_id, app.revision_history_limit)
        if app.sync_policy.auto_sync and not disable_auto_sync:
            raise SyncError(
                f"rollback cannot be initiated when auto-sync is enabled: {name} would sync back to git at "
                "once; pass --disable-auto-sync to pause auto-sync until a new commit arrives"
            )
        if disable_auto_sync:
            head = await asyncio.to_thread(self.refresher.sources.resolve, app, fetched_after=self._clock())
            async with self._lock(name):
                await self._save(replace(self.status(name), auto_sync_paused_at=",".join(head)))
        return await (await self.start_sync(name, rollback_request(entry, prune=prune, username=username)))

    @contextlib.asynccontextmanager
    async def auto_sync_held(self, name: str) -> AsyncIterator[None]:
        """While the block runs (a revert being landed), auto-sync of ``name`` is paused at git's current
        revision, as after a rollback: it resumes once git moves past it (the revert arrives). When the
        block fails, the pause is put back as it was."""
        app = self.apps.app(name)
        head = await asyncio.to_thread(self.refresher.sources.resolve, app, fetched_after=self._clock())
        async with self._lock(name):
            before = self.status(name).auto_sync_paused_at
            await self._save(replace(self.status(name), auto_sync_paused_at=",".join(head)))
        try:
            yield
        except BaseException:
            async with self._lock(name):
                await self._save(replace(self.status(name), auto_sync_paused_at=before))
            raise
