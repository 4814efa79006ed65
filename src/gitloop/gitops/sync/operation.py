"""The sync step machine: ``decide(state, observations)`` → the next state and the actions to perform.

One step does what one call of gitops-engine's ``syncContext.Sync()`` does, without touching the
cluster: fold in the results of the last actions, and then

1. (first steps) create the missing destination namespace, then dry-run every task; a failed dry
   run fails the operation before anything is applied;
2. update running tasks from the observed live objects: a resource succeeds once Healthy (or at
   once when its kind has no health rule) and fails when Degraded; a hook succeeds when Healthy
   (a completed Job or Pod) or without a health rule, fails when Degraded or Unknown;
3. wait while a multi-step sync has running tasks, while any hook runs, or while pruned objects
   are being deleted;
4. on a failed task: delete the HookFailed hooks, run the SyncFail hooks, then fail;
5. when no task is left: delete the HookSucceeded hooks and succeed;
6. otherwise run the first pending phase and wave: prunes first (waiting for confirmation of
   ``Prune=confirm`` ones), then delete hooks that exist and have BeforeHookCreation (waiting
   until they are gone), then apply the rest. The last wave succeeds as soon as it is applied when
   it holds no hook, even before its resources are healthy (as in Argo CD); after any other wave
   the operation pauses ``wave_delay`` seconds (``Decision.wake_at``) before health is read.

``OperationState.phase == Terminating`` (``request_termination``) makes the next step stop: hooks
still running are deleted and marked Failed "Terminated", and the operation fails with "Operation
terminated".

gitloop differs from gitops-engine in small ways: the reasons in a failure message are sorted and
de-duplicated (gitops-engine lists them in map order); a failed SyncFail hook, not only one that
failed to apply, is named in the final message; the SyncFail hooks start once the other running
hooks of the failed wave are done, not alongside them; and creating the namespace, the dry run and
each wave are separate steps, because the driver reports results between steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from gitloop.gitops.sync import outcomes
from gitloop.gitops.sync.actions import (
    Action,
    Apply,
    CreateHook,
    DeleteHook,
    Finish,
    Observations,
    Prune,
    ReleaseHook,
    WaitHealth,
)
from gitloop.gitops.sync.state import Awaiting, OperationState, Stage, TaskProgress
from gitloop.gitops.sync.task import SyncTask
from gitloop.gitops.sync.types import (
    HookDeletePolicy,
    OperationPhase,
    ResultCode,
    SyncPhase,
    TaskAction,
    TaskStatus,
)
from gitloop.model.resources import ResourceKey


@dataclass(frozen=True)
class Decision:
    """The state after one step, the actions the driver performs next, and when to step again."""

    state: OperationState
    actions: tuple[Action, ...] = ()
    wake_at: float | None = None
    """Step again no earlier than this (driver's clock); ``None``: on the next observation."""

    @property
    def watch(self) -> frozenset[ResourceKey]:
        return watched(self.state)


def watched(state: OperationState) -> frozenset[ResourceKey]:
    """The keys whose live objects the driver must observe before the next step."""
    keys = set()
    for task in state.plan.tasks:
        p = state.of(task)
        pruned = p.result is ResultCode.PRUNED and not p.gone and not state.plan.dry_run
        acting = p.awaiting is not None and p.awaiting is not Awaiting.DRY_RUN
        if p.status is TaskStatus.RUNNING or acting or p.deleting or pruned:
            keys.add(task.key)
    return frozenset(keys)


class _Step:
    """One step's working copy of the state; ``decision()`` freezes it."""

    def __init__(self, state: OperationState, observations: Observations) -> None:
        self.state = state
        self.obs = observations
        self.plan = state.plan
        self.progress: dict[str, TaskProgress] = dict(state.progress)
        self.actions: list[Action] = []
        self.phase = state.phase
        self.message = state.message
        self.stage = state.stage
        self.wave = state.wave
        self.final_wave = state.final_wave
        self.not_before = state.not_before
        self.failure = state.failure
        self.wake_at: float | None = None
        self.batch_failed = False
        self.apply_failed = False

    # -- bookkeeping -------------------------------------------------------------------------

    def p(self, task: SyncTask) -> TaskProgress:
        return self.progress[task.id]

    def update(self, task: SyncTask, **changes: Any) -> None:
        self.progress[task.id] = replace(self.progress[task.id], **changes)

    def record(
        self, task: SyncTask, status: TaskStatus, result: ResultCode | None, message: str = ""
    ) -> None:
        """Set a task's outcome; an empty message keeps the previous one, as gitops-engine does."""
        p = self.p(task)
        self.update(task, status=status, result=result or p.result, message=message or p.message)

    def decision(self) -> Decision:
        state = replace(
            self.state,
            progress=self.progress,
            phase=self.phase,
            message=self.message,
            stage=self.stage,
            wave=self.wave,
            final_wave=self.final_wave,
            not_before=self.not_before,
            failure=self.failure,
        )
        return Decision(state, tuple(self.actions), self.wake_at)

    def wait(self, tasks: Sequence[SyncTask], message: str) -> None:
        self.phase, self.message = OperationPhase.RUNNING, message
        self.actions.append(WaitHealth(tuple(t.key for t in tasks), message))

    def finish(self, phase: OperationPhase, message: str) -> None:
        self.phase, self.message, self.not_before = phase, message, None
        self.actions.append(Finish(phase, message))

    # -- actions -----------------------------------------------------------------------------

    def emit(self, task: SyncTask, awaiting: Awaiting) -> None:
        propagation = self.plan.propagation.api_value
        action: Action
        if awaiting is Awaiting.PRUNE:
            action = Prune(task, propagation)
        elif awaiting is Awaiting.DELETE:
            action = DeleteHook(task, HookDeletePolicy.BEFORE_HOOK_CREATION.value, propagation)
        else:
            dry_run = awaiting is Awaiting.DRY_RUN or self.plan.dry_run
            action = CreateHook(task, dry_run) if task.hook else Apply(task, dry_run)
        self.actions.append(action)
        self.update(task, awaiting=awaiting)

    def delete_hooks(self, policy: HookDeletePolicy) -> None:
        for task in self.plan.tasks:
            p = self.p(task)
            if task.deletes_on(policy) and p.live and not p.deleted and p.status is not TaskStatus.RUNNING:
                self.actions.append(DeleteHook(task, policy.value, self.plan.propagation.api_value))
                self.update(task, deleted=True, live=False)

    def release_completed_hooks(self) -> None:
        for task in self.plan.tasks:
            p = self.p(task)
            if task.hook and p.status.completed and p.live and not (p.released or p.deleted):
                self.actions.append(ReleaseHook(task))
                self.update(task, released=True)

    # -- folding results and observations ---------------------------------------------------

    def fold(self) -> None:
        for result in self.obs.results:
            try:
                task = self.state.task(result.task_id)
            except KeyError:
                continue
            awaiting = self.p(task).awaiting
            if awaiting is None:
                continue
            self.update(task, awaiting=None)
            if not result.ok:
                self.batch_failed = True
                self.apply_failed = self.apply_failed or awaiting is not Awaiting.DRY_RUN
                message = (
                    f"failed to delete resource: {result.message}"
                    if awaiting is Awaiting.DELETE
                    else result.message
                )
                self.record(task, TaskStatus.FAILED, ResultCode.SYNC_FAILED, message)
            elif awaiting is Awaiting.APPLY:
                status = TaskStatus.SUCCEEDED if self.plan.dry_run else TaskStatus.RUNNING
                self.record(task, status, ResultCode.SYNCED, result.message)
                self.update(task, live=self.p(task).live or not self.plan.dry_run)
            elif awaiting is Awaiting.DRY_RUN:
                self.update(task, validated=True)
                if self.plan.dry_run:
                    self.record(task, TaskStatus.SUCCEEDED, ResultCode.SYNCED, result.message)
            elif awaiting is Awaiting.PRUNE:
                self.record(task, TaskStatus.SUCCEEDED, ResultCode.PRUNED, result.message or "pruned")
            else:
                self.update(task, deleting=True)
        if self.batch_failed:
            self.not_before = None
            for task in self.plan.tasks:
                if self.p(task).awaiting is not None:
                    self.update(task, awaiting=None)  # never performed: the driver stopped the batch

    def resend(self) -> bool:
        """Ask again for actions whose results never came (the driver stopped before reporting)."""
        lost = [(t, a) for t in self.plan.tasks if (a := self.p(t).awaiting) is not None]
        for task, awaiting in lost:
            self.emit(task, awaiting)
        return bool(lost)

    def observe(self) -> None:
        for task in self.plan.tasks:
            p = self.p(task)
            seen = self.obs.live.get(task.key)
            if p.status is TaskStatus.RUNNING and p.awaiting is None:
                if seen is None:
                    if self.plan.multi_step or task.hook:
                        missing = f"Resource {task.describe()} is missing, it might have been deleted"
                        self.record(task, TaskStatus.FAILED, ResultCode.SYNC_FAILED, missing)
                else:
                    status, message = (
                        outcomes.hook_outcome(task, seen) if task.hook else outcomes.resource_outcome(seen)
                    )
                    self.record(task, status, None, message)
            if p.deleting and seen is None:
                self.update(task, deleting=False, live=False)
            if p.result is ResultCode.PRUNED and not p.gone and seen is None and not self.plan.dry_run:
                self.update(task, gone=True)

    # -- stages ------------------------------------------------------------------------------

    def create_namespace(self) -> bool:
        """Stage 1: create the destination namespace before the dry run. True once done."""
        assert self.plan.namespace_task is not None
        task = self.state.task(self.plan.namespace_task)
        p = self.p(task)
        if p.status is TaskStatus.FAILED:
            self.finish(
                OperationPhase.FAILED, outcomes.with_reason(outcomes.MSG_NAMESPACE_FAILED, [p.message])
            )
            return False
        if p.status is TaskStatus.PENDING:
            self.emit(task, Awaiting.APPLY)
            self.phase, self.message = OperationPhase.RUNNING, f"creating namespace {task.key.name}"
            return False
        self.stage = Stage.DRY_RUN
        return True

    def dry_run(self) -> bool:
        """Stage 2: dry-run every task once. True once all passed."""
        if any(self.p(t).status is TaskStatus.FAILED for t in self.plan.tasks):
            self.finish(OperationPhase.FAILED, outcomes.MSG_DRY_RUN_FAILED)
            return False
        todo = [
            t
            for t in self.plan.tasks
            if not t.is_prune and t.id != self.plan.namespace_task and not self.p(t).validated
        ]
        if todo:
            for task in todo:
                self.emit(task, Awaiting.DRY_RUN)
            self.phase, self.message = OperationPhase.RUNNING, "validating (dry run)"
            return False
        if self.plan.dry_run:
            for task in self.plan.tasks:
                if task.action is TaskAction.PRUNE:
                    self.record(task, TaskStatus.SUCCEEDED, ResultCode.PRUNED, "pruned (dry run)")
                elif task.action is TaskAction.SKIP:
                    self.record(task, TaskStatus.SUCCEEDED, ResultCode.PRUNE_SKIPPED, task.message)
        self.stage = Stage.SYNC
        return True

    def final_wave_applied(self) -> bool:
        """The hook-free last wave is applied without failure: the operation succeeds now."""
        if not self.final_wave or self.wave is None or self.stage is not Stage.SYNC:
            return False
        tasks = [t for t in self.plan.tasks if (t.phase, t.wave) == self.wave]
        return not any(t.hook for t in tasks) and all(
            self.p(t).awaiting is None
            and not self.p(t).deleting
            and self.p(t).status in (TaskStatus.RUNNING, TaskStatus.SUCCEEDED)
            for t in tasks
        )

    def sync(self) -> None:
        """Stage 3: the waves, then success, or SyncFail hooks and failure."""
        if self.final_wave_applied():
            self.succeed(outcomes.MSG_ALL_TASKS_RUN)
            return
        self.observe()
        tasks = self.plan.tasks
        running = [
            t for t in tasks if self.p(t).status is TaskStatus.RUNNING and (self.plan.multi_step or t.hook)
        ]
        if running:
            self.wait(running, outcomes.running_message(running))
            return
        deleting = [
            t
            for t in tasks
            if self.p(t).result is ResultCode.PRUNED
            and (seen := self.obs.live.get(t.key)) is not None
            and seen.deleting
            and not self.p(t).gone
        ]
        if deleting:
            self.wait(deleting, outcomes.running_message(deleting, deletion=True))
            return
        others = [t for t in tasks if t.phase is not SyncPhase.SYNC_FAIL]
        if self.stage is Stage.SYNC_FAIL or any(self.p(t).status is TaskStatus.FAILED for t in others):
            self.fail(others)
            return
        pending = [t for t in others if self.p(t).status is TaskStatus.PENDING]
        if not pending:
            self.succeed(outcomes.MSG_NO_MORE_TASKS)
            return
        self.release_completed_hooks()
        self.run_wave(pending)

    def succeed(self, message: str) -> None:
        self.delete_hooks(HookDeletePolicy.HOOK_SUCCEEDED)
        self.release_completed_hooks()
        self.finish(OperationPhase.SUCCEEDED, message)

    def fail(self, others: Sequence[SyncTask]) -> None:
        if self.stage is not Stage.SYNC_FAIL:
            base = outcomes.MSG_APPLY_FAILED if self.apply_failed else outcomes.MSG_TASKS_FAILED
            reasons = [self.p(t).message for t in others if self.p(t).result is ResultCode.SYNC_FAILED]
            self.failure = outcomes.with_reason(base, reasons)
            self.stage = Stage.SYNC_FAIL
        self.delete_hooks(HookDeletePolicy.HOOK_FAILED)
        self.release_completed_hooks()
        sync_fail = [t for t in self.plan.tasks if t.phase is SyncPhase.SYNC_FAIL]
        if all(self.p(t).status.completed for t in sync_fail):
            failed = [t for t in sync_fail if self.p(t).status is TaskStatus.FAILED]
            message = self.failure
            if failed:
                message += "\n" + outcomes.with_reason(
                    outcomes.MSG_SYNC_FAIL_HOOKS_FAILED, [self.p(t).message for t in failed]
                )
            self.finish(OperationPhase.FAILED, message)
            return
        pending = [t for t in sync_fail if self.p(t).status is TaskStatus.PENDING]
        if self.run_tasks(pending):
            self.phase, self.message = OperationPhase.RUNNING, outcomes.running_message(pending)

    def run_wave(self, pending: Sequence[SyncTask]) -> None:
        first, last = pending[0], pending[-1]
        current = (first.phase, first.wave)
        final = current == (last.phase, last.wave)
        tasks = [t for t in pending if (t.phase, t.wave) == current]
        if not self.run_tasks(tasks):
            return
        self.wave, self.final_wave = current, final
        self.phase, self.message = OperationPhase.RUNNING, outcomes.running_message(tasks)
        if final:
            if not any(self.p(t).awaiting for t in tasks) and self.final_wave_applied():
                self.succeed(outcomes.MSG_ALL_TASKS_RUN)
        else:
            self.not_before = self.obs.now + self.state.wave_delay
            self.wake_at = self.not_before

    def run_tasks(self, tasks: Sequence[SyncTask]) -> bool:
        """Prune, delete hooks before re-creating them, apply (gitops-engine's ``runTasks``).

        False while the tasks wait: for prune confirmation or for hooks to be deleted."""
        prunes = [t for t in tasks if t.action is TaskAction.PRUNE]
        unconfirmed = [t for t in prunes if t.prune_confirm]
        if unconfirmed and not self.obs.prune_confirmed:
            message = f"waiting for pruning confirmation of {unconfirmed[0].describe()}"
            if len(unconfirmed) > 1:
                message += f" and {len(unconfirmed) - 1} more resources"
            self.wait(unconfirmed, message)
            return False
        for task in tasks:
            if task.action is TaskAction.SKIP:
                self.record(task, TaskStatus.SUCCEEDED, ResultCode.PRUNE_SKIPPED, task.message)
            elif task.action is TaskAction.PRUNE and self.plan.dry_run:
                self.record(task, TaskStatus.SUCCEEDED, ResultCode.PRUNED, "pruned (dry run)")
            elif task.action is TaskAction.PRUNE:
                self.emit(task, Awaiting.PRUNE)
        hooks_in_way = []
        for task in tasks:
            p = self.p(task)
            if not task.hook or self.plan.dry_run:
                continue
            seen = self.obs.live.get(task.key)
            if p.deleting:
                hooks_in_way.append(task)
                if seen is not None and not seen.deleting:
                    self.emit(task, Awaiting.DELETE)
            elif p.live and task.deletes_on(HookDeletePolicy.BEFORE_HOOK_CREATION):
                hooks_in_way.append(task)
                self.emit(task, Awaiting.DELETE)
        if hooks_in_way:
            self.wait(hooks_in_way, outcomes.running_message(hooks_in_way, deletion=True))
            return False
        for task in tasks:
            if not task.is_prune:
                self.emit(task, Awaiting.APPLY)
        return True

    def terminate(self) -> None:
        """Stop: delete running hooks (and completed HookFailed ones), release the others, fail."""
        for task in self.plan.tasks:
            p = self.p(task)
            if not task.hook:
                continue
            if p.status is not TaskStatus.RUNNING and p.awaiting is not Awaiting.APPLY:
                if p.status.completed and p.live and not (p.released or p.deleted):
                    self.actions.append(ReleaseHook(task))
                    self.update(task, released=True)
                continue
            self.update(task, awaiting=None)
            seen = self.obs.live.get(task.key)
            if seen is None:
                self.record(task, TaskStatus.SUCCEEDED, None, "Terminated")
                continue
            status, message = outcomes.hook_outcome(task, seen)
            if status is TaskStatus.RUNNING or task.deletes_on(HookDeletePolicy.HOOK_FAILED):
                self.actions.append(DeleteHook(task, "Terminated", self.plan.propagation.api_value))
                self.update(task, deleted=True, live=False)
            else:
                self.actions.append(ReleaseHook(task))
                self.update(task, released=True)
            if status.completed:
                self.record(task, status, None, message)
            else:
                self.record(task, TaskStatus.FAILED, None, "Terminated")
        self.finish(OperationPhase.FAILED, outcomes.MSG_TERMINATED)


def decide(state: OperationState, observations: Observations) -> Decision:
    """One step of the sync operation. Pure: the driver performs ``Decision.actions`` in order,
    stores ``Decision.state``, and calls ``decide`` again with what it then observes."""
    if state.phase.completed:
        return Decision(state)
    step = _Step(state, observations)
    step.fold()
    if state.phase is OperationPhase.TERMINATING:
        step.terminate()
        return step.decision()
    if step.resend():
        return step.decision()
    if step.not_before is not None and observations.now < step.not_before:
        step.wake_at = step.not_before
        return step.decision()
    step.not_before = None
    if step.stage is Stage.NAMESPACE and not step.create_namespace():
        return step.decision()
    if step.stage is Stage.DRY_RUN and not step.dry_run():
        return step.decision()
    step.sync()
    return step.decision()
