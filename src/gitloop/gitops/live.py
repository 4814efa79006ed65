"""The live state of one cluster: a list + watch cache of the objects Applications track.

For every kind some Application uses, one task lists the kind in all namespaces and then watches it
from the list's ``resourceVersion``; a watch the server ends with 410 Gone (the version is too old),
a dropped connection, or the periodic resync (``resync`` seconds, default 10 minutes) lists again and
replaces what the cache held for the kind. Only objects carrying a valid ``gitloop.dev/tracking-id``
(``gitloop.gitops.tracking``) are kept, indexed by key and by Application: ReplicaSets and Pods that
controllers make, and objects of other tools, are dropped as they arrive (only their keys are kept,
so ``exists`` answers without asking the API server), so the cache holds little and gitloop never
diffs, prunes or waits on them.

Every change to a tracked object bumps its Application's version and wakes ``wait_change`` callers
and ``subscribe`` callbacks, so drift is seen as soon as the API server reports it (milliseconds),
not at the next poll. A kind whose list fails keeps its last error (``kind_error``) for the
Application's conditions while the task retries with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gitloop.errors import ClusterError, NotFoundError
from gitloop.gitops.tracking import tracked_by
from gitloop.model.resources import GroupVersionKind, Manifest, ResourceKey
from gitloop.ports import Cluster

GroupKind = tuple[str, str]
Listener = Callable[[str, ResourceKey], None]
"""Called with the Application and key of every tracked object that changed."""

DEFAULT_RESYNC = 600.0
_BACKOFF_MAX = 30.0


def resource_version(obj: Manifest | None) -> int:
    """``metadata.resourceVersion`` as a number (0 when absent); etcd's versions grow monotonically."""
    meta = obj.get("metadata") if obj else None
    value = meta.get("resourceVersion") if isinstance(meta, dict) else None
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


@dataclass
class _Kind:
    gvk: GroupVersionKind
    keys: set[ResourceKey] = field(default_factory=set)
    untracked: set[ResourceKey] = field(default_factory=set)
    """Objects of the kind no Application tracks: only their keys are kept."""
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    error: str = ""
    task: asyncio.Task[None] | None = None


class LiveCache:
    """Tracked objects of one cluster, kept current by one list + watch per kind."""

    def __init__(self, cluster: Cluster, *, resync: float = DEFAULT_RESYNC, backoff: float = 0.5) -> None:
        self.cluster = cluster
        self._resync = resync
        self._backoff = backoff
        self._kinds: dict[GroupKind, _Kind] = {}
        self._objects: dict[ResourceKey, tuple[str, Manifest]] = {}
        self._by_app: dict[str, dict[ResourceKey, Manifest]] = {}
        self._versions: dict[str, int] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._listeners: list[Listener] = []
        self._closed = False

    # -- what is watched --------------------------------------------------------------------------

    async def watch_kinds(
        self, kinds: Iterable[tuple[str, str]], *, timeout: float = 10.0
    ) -> dict[GroupKind, str]:
        """Watch every ``(apiVersion, kind)`` not watched yet and wait until each listed once.

        Returns the kinds that could not be listed (in ``timeout``), each with the reason."""
        waiting = []
        for api_version, kind in kinds:
            gvk = GroupVersionKind.from_api_version(api_version, kind)
            gk = (gvk.group, gvk.kind)
            entry = self._kinds.get(gk)
            if entry is None:
                entry = self._kinds[gk] = _Kind(gvk)
                entry.task = asyncio.create_task(self._run(gk, entry), name=f"watch {kind}")
            waiting.append((gk, entry))
        if waiting:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.gather(*(e.ready.wait() for _, e in waiting))
        problems = {}
        for gk, entry in waiting:
            if not entry.ready.is_set():
                problems[gk] = entry.error or f"listing {gk[1]} did not finish in {timeout:.0f}s"
            elif entry.error:
                problems[gk] = entry.error
        return problems

    def watching(self, group: str, kind: str) -> bool:
        """Whether ``group``/``kind`` is watched and listed (the cache is authoritative for it)."""
        entry = self._kinds.get((group, kind))
        return entry is not None and entry.ready.is_set() and not entry.error

    def kind_error(self, group: str, kind: str) -> str:
        entry = self._kinds.get((group, kind))
        return entry.error if entry else ""

    def api_version(self, group: str, kind: str) -> str | None:
        """The version the cache holds objects of ``group``/``kind`` in."""
        entry = self._kinds.get((group, kind))
        return entry.gvk.api_version if entry else None

    # -- reading ---------------------------------------------------------------------------------

    def objects(self, app: str) -> dict[ResourceKey, Manifest]:
        """The live objects ``app`` tracks (do not modify them)."""
        return dict(self._by_app.get(app, {}))

    def get(self, key: ResourceKey) -> Manifest | None:
        """A tracked live object, whichever Application tracks it."""
        found = self._objects.get(key)
        return found[1] if found else None

    def exists(self, key: ResourceKey) -> bool | None:
        """Whether an object (tracked or not) exists; ``None`` when the cache does not watch its kind."""
        entry = self._kinds.get((key.group, key.kind))
        if entry is None or not entry.ready.is_set() or entry.error:
            return None
        return key in entry.keys or key in entry.untracked

    def owner(self, key: ResourceKey) -> str | None:
        found = self._objects.get(key)
        return found[0] if found else None

    def __len__(self) -> int:
        return len(self._objects)

    # -- change notification ---------------------------------------------------------------------

    def version(self, app: str) -> int:
        """A counter that grows with every change to an object ``app`` tracks."""
        return self._versions.get(app, 0)

    async def wait_change(self, app: str, after: int, timeout: float) -> bool:
        """Wait until ``version(app)`` exceeds ``after``, at most ``timeout`` seconds; whether it did."""
        if self.version(app) > after:
            return True
        event = self._events.setdefault(app, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
        return self.version(app) > after

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self, app: str, key: ResourceKey) -> None:
        self._versions[app] = self._versions.get(app, 0) + 1
        event = self._events.pop(app, None)
        if event is not None:
            event.set()
        for listener in self._listeners:
            listener(app, key)

    # -- keeping the cache -----------------------------------------------------------------------

    def _put(self, entry: _Kind, obj: Manifest) -> None:
        key = ResourceKey.of(obj)
        app = tracked_by(obj)
        before = self._objects.get(key)
        if app is None:
            if before is not None:
                self._drop(entry, key)
            entry.untracked.add(key)
            return
        entry.untracked.discard(key)
        if before is not None and before[0] != app:
            self._drop(entry, key)
        elif before is not None and resource_version(before[1]) == resource_version(obj) > 0:
            return  # a relist or replayed event of what the cache already holds
        self._objects[key] = (app, obj)
        self._by_app.setdefault(app, {})[key] = obj
        entry.keys.add(key)
        self._changed(app, key)

    def _drop(self, entry: _Kind, key: ResourceKey) -> None:
        before = self._objects.pop(key, None)
        entry.keys.discard(key)
        entry.untracked.discard(key)
        if before is None:
            return
        owned = self._by_app.get(before[0])
        if owned is not None:
            owned.pop(key, None)
            if not owned:
                del self._by_app[before[0]]
        self._changed(before[0], key)

    def _replace(self, entry: _Kind, items: list[Manifest]) -> None:
        listed = {ResourceKey.of(obj) for obj in items}
        for key in [k for k in entry.keys if k not in listed]:
            self._drop(entry, key)
        entry.untracked &= listed
        for obj in items:
            self._put(entry, obj)

    async def _run(self, gk: GroupKind, entry: _Kind) -> None:
        delay = self._backoff
        while not self._closed:
            try:
                listing = await self.cluster.snapshot(entry.gvk.api_version, entry.gvk.kind)
                self._replace(entry, listing.items)
                entry.error = ""
                entry.ready.set()
                delay = self._backoff
                async with asyncio.timeout(self._resync):
                    await self._follow(entry, listing.resource_version)
            except TimeoutError:
                continue  # periodic resync: list again
            except NotFoundError as exc:
                entry.error = str(exc)
                entry.ready.set()
                del self._kinds[gk]  # not served (yet): a later watch_kinds tries again
                return
            except ClusterError as exc:
                if exc.status == 410:
                    continue
                entry.error = str(exc)
                entry.ready.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX)

    async def _follow(self, entry: _Kind, version: str) -> None:
        """Apply watch events from ``version`` on, until the watch ends."""
        gvk = entry.gvk
        stream = self.cluster.watch(gvk.api_version, gvk.kind, resource_version=version)
        try:
            async for event in stream:
                if event.type == "DELETED":
                    self._drop(entry, ResourceKey.of(event.object))
                elif event.type in ("ADDED", "MODIFIED"):
                    self._put(entry, event.object)
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    async def close(self) -> None:
        """Stop every watch."""
        self._closed = True
        tasks = [e.task for e in self._kinds.values() if e.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._kinds.clear()
