"""Performing the sync step machine's actions against one cluster: apply, prune, hooks.

How actions map onto the ``Cluster`` port:

- ``Apply`` / ``CreateHook``: server-side apply with field manager ``gitloop`` and conflicts forced
  (``kubectl apply --server-side --force-conflicts``, as Argo CD's server-side apply does) of the
  prepared manifest (tracking annotation, explicit port protocols). gitloop always applies
  server-side: ``ServerSideApply=false`` still applies server-side. ``Replace=true`` applies too;
  with ``Force=true`` it deletes the object and creates it again. Dry runs are server-side apply dry
  runs; a dry run that fails only because the namespace is created by the same sync passes, and
  dry runs run concurrently (they change nothing); real applies run one after the other, in plan
  order.
- ``Prune``: delete with the plan's propagation policy; an object already gone counts as pruned.
  After a failed prune nothing else of the batch runs.
- ``DeleteHook`` / ``ReleaseHook``: the hook finalizer is removed with a JSON patch that tests it is
  still where it was read (never re-applying the hook, whose spec may be immutable and may have
  changed in git); ``DeleteHook`` then deletes the object.

``Prune=confirm`` resources are confirmed by a manual sync with ``--prune``; automated syncs wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from gitloop.errors import ClusterError, NotFoundError
from gitloop.gitops.live import resource_version
from gitloop.gitops.observe import ClusterView
from gitloop.gitops.sync import (
    Action,
    ActionResult,
    Apply,
    CreateHook,
    DeleteHook,
    OperationState,
    Prune,
    ReleaseHook,
    SyncTask,
    TaskAction,
)
from gitloop.gitops.sync.annotation import HOOK_FINALIZER
from gitloop.model.resources import ResourceKey

_REPLACE_TIMEOUT = 60.0


def _describe(task: SyncTask) -> str:
    kind = task.key.kind.lower()
    return f"{kind}.{task.key.group}/{task.key.name}" if task.key.group else f"{kind}/{task.key.name}"


class ClusterActions:
    """Performs the actions of the sync operations of the Applications deployed to one cluster."""

    def __init__(self, view: ClusterView, *, clock: Callable[[], float] = time.time) -> None:
        self.view = view
        self._clock = clock

    async def perform(
        self,
        actions: Sequence[Action],
        state: OperationState,
        unconfirmed: dict[ResourceKey, int],
        times: dict[str, float],
    ) -> list[ActionResult]:
        """Perform ``actions``; ``times`` gets when each task was applied or pruned, ``unconfirmed`` the
        resourceVersion each apply returned (0 for a deletion) until the live cache has seen it."""
        dry_runs = [a for a in actions if isinstance(a, Apply | CreateHook) and a.dry_run]
        results = list(await asyncio.gather(*(self._dry_run(a.task, state) for a in dry_runs)))
        for action in actions:
            if isinstance(action, Apply | CreateHook) and not action.dry_run:
                times[action.task.id] = self._clock()
                result, version = await self._apply(action.task)
                results.append(result)
                unconfirmed[action.task.key] = version
            elif isinstance(action, Prune):
                times[action.task.id] = self._clock()
                result = await self._prune(action.task, action.propagation)
                results.append(result)
                unconfirmed[action.task.key] = 0
                if not result.ok:
                    break
            elif isinstance(action, DeleteHook):
                results.append(await self._delete_hook(action.task, action.propagation))
                unconfirmed[action.task.key] = 0
            elif isinstance(action, ReleaseHook):
                await self._release(action.task)
        return results

    async def _dry_run(self, task: SyncTask, state: OperationState) -> ActionResult:
        assert task.manifest is not None
        if task.skip_dry_run and await self.view.kind(task.api_version, task.key.kind) is None:
            return ActionResult(task.id, True, f"{_describe(task)} dry run skipped (kind not served yet)")
        try:
            await self.view.apply(task.manifest, dry_run=True)
        except NotFoundError as exc:
            namespace = task.key.namespace
            creates = any(
                t.key == ResourceKey("", "Namespace", "", namespace) and not t.is_prune
                for t in state.plan.tasks
            )
            if namespace and creates:
                return ActionResult(
                    task.id,
                    True,
                    f"{_describe(task)} dry run skipped: namespace {namespace} is created by this sync",
                )
            return ActionResult(task.id, False, str(exc))
        except ClusterError as exc:
            return ActionResult(task.id, False, str(exc))
        return ActionResult(task.id, True, f"{_describe(task)} validated (dry run)")

    async def _apply(self, task: SyncTask) -> tuple[ActionResult, int]:
        """Apply one task: its result and the resourceVersion the server returned (0 on failure)."""
        assert task.manifest is not None
        before = self.view.cache.get(task.key)
        try:
            if task.action is TaskAction.REPLACE and task.force:
                await self._delete_and_wait(task)
                before = None
            applied = await self.view.apply(task.manifest)
        except ClusterError as exc:
            return ActionResult(task.id, False, str(exc)), 0
        self.view.remember(task.manifest, applied)
        if before is None and not task.live:
            verb = "created"
        elif before is not None and resource_version(before) == resource_version(applied):
            verb = "unchanged"
        else:
            verb = "configured"
        return ActionResult(task.id, True, f"{_describe(task)} {verb}"), resource_version(applied)

    async def _delete_and_wait(self, task: SyncTask) -> None:
        try:
            await self.view.delete(
                task.api_version, task.key.kind, task.key.name, task.key.namespace, propagation="Foreground"
            )
        except NotFoundError:
            return
        deadline = self._clock() + _REPLACE_TIMEOUT
        while self._clock() < deadline:
            if (
                await self.view.get(task.api_version, task.key.kind, task.key.name, task.key.namespace)
                is None
            ):
                return
            await asyncio.sleep(0.1)
        raise ClusterError(f"{_describe(task)} was not deleted within {_REPLACE_TIMEOUT:.0f}s for Replace")

    async def _prune(self, task: SyncTask, propagation: str) -> ActionResult:
        return await self._delete(task, propagation, "pruned")

    async def _delete(self, task: SyncTask, propagation: str, done: str) -> ActionResult:
        """Delete ``task``'s object; an object already gone counts as ``done``."""
        key = task.key
        try:
            await self.view.delete(
                task.api_version, key.kind, key.name, key.namespace, propagation=propagation
            )
        except NotFoundError:
            return ActionResult(task.id, True, f"{done} (already gone)")
        except ClusterError as exc:
            return ActionResult(task.id, False, str(exc))
        return ActionResult(task.id, True, done)

    async def _release(self, task: SyncTask) -> None:
        """Remove the hook finalizer (and only it) from a live hook; nothing when the hook is gone."""
        key = task.key
        live = await self.view.get(task.api_version, key.kind, key.name, key.namespace)
        finalizers = ((live or {}).get("metadata") or {}).get("finalizers") or []
        if HOOK_FINALIZER not in finalizers:
            return
        index = finalizers.index(HOOK_FINALIZER)
        path = f"/metadata/finalizers/{index}"
        operations = [{"op": "test", "path": path, "value": HOOK_FINALIZER}, {"op": "remove", "path": path}]
        try:
            await self.view.patch(task.api_version, key.kind, key.name, key.namespace, operations)
        except ClusterError:
            return  # changed or deleted meanwhile: the next step sees it again

    async def _delete_hook(self, task: SyncTask, propagation: str) -> ActionResult:
        await self._release(task)
        return await self._delete(task, propagation, "deleted")
