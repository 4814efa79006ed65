"""The reconcile loop: when each Application is refreshed.

An Application is refreshed when its poll comes round (``poll_interval``, default 3 min, jittered by
±20 % so Applications spread out; git is fetched again), when ``trigger`` is called (a push
webhook, the CLI, the server: git is fetched again), when an object it tracks changes (``LiveCache``
events, gathered for ``debounce`` seconds: drift is seen within the watch latency), when its
operation ends, and when self-heal's backoff is over. A queue with one entry per Application feeds
``workers`` concurrent refreshes, so a burst of events costs one refresh. A failing refresh is
logged and the loop goes on with the other Applications.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable

from gitloop.errors import SyncError
from gitloop.gitops.observe import ClusterView
from gitloop.gitops.reconciler import Reconciler
from gitloop.model.resources import ResourceKey

_log = logging.getLogger(__name__)


class Loop:
    """Drives one ``Reconciler`` until stopped."""

    def __init__(self, reconciler: Reconciler) -> None:
        self.reconciler = reconciler
        self.settings = reconciler.settings
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._debounced: set[str] = set()
        self._views: set[int] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def enqueue(self, name: str) -> None:
        """Refresh ``name`` soon (once, however often it is asked before the refresh starts)."""
        if name in self.reconciler.apps.apps and name not in self._queued:
            self._queued.add(name)
            self._queue.put_nowait(name)

    def changed(self, name: str) -> None:
        """``name`` was registered or its spec changed: refresh it soon, if the loop runs."""
        if self._loop is not None:
            self.enqueue(name)

    def trigger(self, names: Iterable[str] | None = None) -> None:
        """Refresh ``names`` (default: all) with a fresh fetch of git. Safe to call from any thread."""
        chosen = list(self.reconciler.apps.apps) if names is None else list(names)
        if self._loop is None:
            raise SyncError("the reconcile loop is not running")
        self._loop.call_soon_threadsafe(self._new_round, chosen)

    def _new_round(self, names: Iterable[str]) -> None:
        self.reconciler.fetched_after = self.reconciler.now()
        for name in names:
            self.enqueue(name)

    def schedule(self, name: str, delay: float) -> None:
        """Refresh ``name`` in ``delay`` seconds (self-heal backoff, an operation's end)."""
        if self._loop is not None:
            self._loop.call_later(delay, self.enqueue, name)

    def watch(self, view: ClusterView) -> None:
        """Refresh the Applications whose tracked objects change in ``view`` (subscribed once)."""
        if id(view) not in self._views:
            self._views.add(id(view))
            view.cache.subscribe(self._on_live_change)

    def _on_live_change(self, name: str, _key: ResourceKey) -> None:
        """A tracked object changed: refresh its Application soon, once for a burst of changes, and not
        while an operation of it runs (the operation's end refreshes it)."""
        if name in self.reconciler.running or name in self._debounced or self._loop is None:
            return
        self._debounced.add(name)
        self._loop.call_later(self.settings.debounce, self._debounce_done, name)

    def _debounce_done(self, name: str) -> None:
        self._debounced.discard(name)
        self.enqueue(name)

    async def _worker(self) -> None:
        while True:
            name = await self._queue.get()
            self._queued.discard(name)
            if name not in self.reconciler.apps.apps:
                continue  # deleted since it was queued
            try:
                await self.reconciler.refresh(name)
            except Exception:
                _log.exception("refreshing %s failed", name)

    async def _poller(self) -> None:
        while True:
            spread = self.settings.poll_interval * self.settings.jitter
            await asyncio.sleep(self.settings.poll_interval + random.uniform(-spread, spread))  # noqa: S311
            self._new_round(self.reconciler.apps.apps)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Refresh until ``stop`` is set, then cancel the refreshes and the reconciler's operations."""
        self._loop = asyncio.get_running_loop()
        rec = self.reconciler
        tasks = [asyncio.create_task(self._worker()) for _ in range(self.settings.workers)]
        tasks.append(asyncio.create_task(self._poller()))
        self._new_round(rec.apps.apps)
        try:
            await (stop or asyncio.Event()).wait()
        finally:
            running = list(rec.running.values())
            for task in [*tasks, *running]:
                task.cancel()
            await asyncio.gather(*tasks, *running, return_exceptions=True)
            self._loop = None
