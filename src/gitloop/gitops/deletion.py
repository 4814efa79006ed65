"""Deleting an Application's resources, with Argo CD's rules (``Engine.delete`` calls it).

Whether a deletion cascades: asked explicitly (``cascade``), else as the Application's finalizers
say — ``resources-finalizer.argocd.argoproj.io`` (foreground propagation) or its ``/background``
form cascade, no finalizer keeps the resources. A cascading deletion, from the Application's current
revision freshly rendered:

1. runs its ``PreDelete`` hooks (by hook wave, each wave complete before the next) and waits for
   them: a hook that fails (health Degraded) stops the deletion with ``SyncError`` naming it;
2. deletes every live object the Application tracks in reverse sync-wave order (highest wave first),
   each wave gone from the API server before the next is deleted, with the propagation asked
   (``Foreground`` or ``Background``);
3. runs its ``PostDelete`` hooks the same way.

A hook whose ``hook-delete-policy`` is ``HookSucceeded`` is deleted once it succeeded; otherwise it
stays (Argo CD's default ``BeforeHookCreation`` deletes it before it is created again).

A comparison that fails (git unreachable, the path removed, a render error) stands in for by the
Application's last comparison in this process, when there is one without PreDelete/PostDelete hooks:
its tracked live objects are deleted, as Argo CD deletes from the live state. Otherwise (hooks that
cannot be rendered, or no earlier comparison since the start) the deletion stops before anything is
deleted, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby

from gitloop.errors import ClusterError, NotFoundError, SyncError
from gitloop.gitops import health
from gitloop.gitops.comparison import Comparison
from gitloop.gitops.observe import ClusterView
from gitloop.gitops.refresh import Refreshed
from gitloop.gitops.sync.annotation import HOOK_FINALIZER
from gitloop.gitops.sync.hooks import delete_policies, hook_types, wave
from gitloop.gitops.sync.types import HookDeletePolicy, HookType
from gitloop.gitops.tracking import tracked_by
from gitloop.model.health import HealthStatus
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.spec.argocd.application import BACKGROUND_RESOURCES_FINALIZER, RESOURCES_FINALIZER, Application

FOREGROUND, BACKGROUND = "Foreground", "Background"
PROPAGATIONS = {"foreground": FOREGROUND, "background": BACKGROUND}
_DELETE_HOOKS = {HookType.PRE_DELETE, HookType.POST_DELETE}
DEFAULT_TIMEOUT = 300.0
"""Seconds a deletion waits for a hook to complete or a wave to be gone."""


def cascades(app: Application, cascade: bool | None) -> bool:
    """Whether deleting ``app`` deletes its resources: ``cascade`` if given, else its finalizers."""
    if cascade is not None:
        return cascade
    return RESOURCES_FINALIZER in app.finalizers or BACKGROUND_RESOURCES_FINALIZER in app.finalizers


def propagation_of(app: Application, propagation: str | None) -> str:
    """``Foreground`` or ``Background``: ``propagation`` if given (either case), else the finalizer's."""
    if propagation:
        try:
            return PROPAGATIONS[propagation.lower()]
        except KeyError:
            raise SyncError(
                f"propagationPolicy must be foreground or background, not {propagation!r}"
            ) from None
    background = (
        BACKGROUND_RESOURCES_FINALIZER in app.finalizers and RESOURCES_FINALIZER not in app.finalizers
    )
    return BACKGROUND if background else FOREGROUND


def _describe(obj: Manifest) -> str:
    return str(ResourceKey.of(obj))


def _hooks(desired: Sequence[Manifest], kind: HookType) -> list[Manifest]:
    return sorted((o for o in desired if kind in hook_types(o)), key=wave)


class Deletion:
    """One cascading deletion of one Application's resources, on the cluster its refresh read."""

    def __init__(
        self,
        app: Application,
        *,
        propagation: str,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app, self.propagation = app, propagation
        self.view: ClusterView
        self._timeout, self._poll, self._clock = timeout, poll, clock

    async def run(
        self, refreshed: Refreshed, *, last: Comparison | None = None, view: ClusterView | None = None
    ) -> None:
        """PreDelete hooks, the tracked resources by reverse wave, PostDelete hooks.

        When the Application cannot be rendered now (its path removed from git, as when an
        ApplicationSet's directory goes), ``last`` — its last comparison in this process — stands in:
        if it had no PreDelete/PostDelete hook, the objects it tracks on ``view`` are deleted (Argo CD
        deletes from the live state, not from git); otherwise, or without ``last``, nothing is deleted."""
        comparison = refreshed.comparison
        if comparison is None or refreshed.view is None:
            errors = [c.message for c in refreshed.status.conditions if c.type.is_error]
            reason = "; ".join(errors) or "comparison failed"
            if last is None or view is None:
                raise SyncError(f"{self.app.name}: deletion stopped: {reason}")
            if any(_DELETE_HOOKS & set(hook_types(o)) for o in last.desired):
                raise SyncError(
                    f"{self.app.name}: deletion stopped: its PreDelete/PostDelete hooks cannot be rendered: "
                    f"{reason}"
                )
            self.view = view
            live = {**last.live, **view.cache.objects(self.app.name)}
            await self._delete_tracked(live.values(), ())
            return
        self.view = refreshed.view
        pre = _hooks(comparison.desired, HookType.PRE_DELETE)
        kept = await self._hooks(pre, HookType.PRE_DELETE)
        await self._delete_tracked(comparison.live.values(), kept)
        await self._hooks(_hooks(comparison.desired, HookType.POST_DELETE), HookType.POST_DELETE)

    async def _delete_tracked(self, live: Iterable[Manifest], kept: Sequence[Manifest]) -> None:
        """Delete the objects of ``live`` the Application tracks, and the ``kept`` hooks, by reverse wave."""
        tracked = {
            ResourceKey.of(obj): obj
            for obj in live
            if tracked_by(obj) == self.app.name and HookType.POST_DELETE not in hook_types(obj)
        }
        tracked.update((ResourceKey.of(obj), obj) for obj in kept)
        by_wave = sorted(tracked.values(), key=wave, reverse=True)
        for _, group in groupby(by_wave, key=wave):
            await self._delete_wave(list(group))

    async def _delete(self, obj: Manifest) -> None:
        """Delete ``obj`` (a hook's finalizer, left by an interrupted sync, removed first)."""
        key = ResourceKey.of(obj)
        finalizers = (obj.get("metadata") or {}).get("finalizers") or []
        if HOOK_FINALIZER in finalizers:
            path = f"/metadata/finalizers/{finalizers.index(HOOK_FINALIZER)}"
            operations = [
                {"op": "test", "path": path, "value": HOOK_FINALIZER},
                {"op": "remove", "path": path},
            ]
            with contextlib.suppress(ClusterError):  # changed meanwhile: the wave's wait times out
                await self.view.patch(
                    str(obj.get("apiVersion")), key.kind, key.name, key.namespace, operations
                )
        try:
            await self.view.delete(
                str(obj.get("apiVersion")), key.kind, key.name, key.namespace, propagation=self.propagation
            )
        except NotFoundError:
            return

    async def _gone(self, obj: Manifest) -> bool:
        key = ResourceKey.of(obj)
        return await self.view.get(str(obj.get("apiVersion")), key.kind, key.name, key.namespace) is None

    async def _delete_wave(self, objects: list[Manifest]) -> None:
        """Delete ``objects`` and wait until the API server no longer has any of them."""
        await asyncio.gather(*(self._delete(obj) for obj in objects))
        deadline = self._clock() + self._timeout
        waiting = list(objects)
        while waiting:
            gone = await asyncio.gather(*(self._gone(obj) for obj in waiting))
            waiting = [obj for obj, done in zip(waiting, gone, strict=True) if not done]
            if not waiting:
                return
            if self._clock() >= deadline:
                names = ", ".join(_describe(o) for o in waiting)
                raise SyncError(f"{self.app.name}: not deleted within {self._timeout:.0f}s: {names}")
            await asyncio.sleep(self._poll)

    async def _hooks(self, hooks: list[Manifest], kind: HookType) -> list[Manifest]:
        """Run ``hooks`` wave by wave; those not deleted by their policy. ``SyncError`` when one fails
        or does not complete in time."""
        kept = []
        for _, group in groupby(hooks, key=wave):
            started = list(group)
            for hook in started:
                try:
                    await self.view.apply(hook)
                except ClusterError as exc:
                    raise SyncError(f"{kind} hook {_describe(hook)} could not be created: {exc}") from exc
            await asyncio.gather(*(self._completed(hook, kind) for hook in started))
            for hook in started:
                if HookDeletePolicy.HOOK_SUCCEEDED in delete_policies(hook):
                    await self._delete(hook)
                else:
                    kept.append(hook)
        return kept

    async def _completed(self, hook: Manifest, kind: HookType) -> None:
        key = ResourceKey.of(hook)
        deadline = self._clock() + self._timeout
        while True:
            live = await self.view.get(str(hook.get("apiVersion")), key.kind, key.name, key.namespace)
            result = health.assess(live) if live is not None else None
            if live is not None and (result is None or result.status is HealthStatus.HEALTHY):
                return
            if result is not None and result.status is HealthStatus.DEGRADED:
                raise SyncError(f"{kind} hook {key} failed: {result.message or 'Degraded'}")
            if self._clock() >= deadline:
                raise SyncError(f"{kind} hook {key} did not complete within {self._timeout:.0f}s")
            await asyncio.sleep(self._poll)
