"""How observations become task outcomes, and the messages a sync operation reports.

A hook's status follows gitops-engine's ``getOperationPhase``: no health rule or Healthy →
Succeeded, Degraded or Unknown → Failed, anything else → still Running. A resource awaited between
waves succeeds without a health rule or once Healthy, fails when Degraded, and otherwise keeps
running. Messages use gitops-engine's wording, so users of Argo CD recognise them.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitloop.gitops.sync.actions import LiveObservation
from gitloop.gitops.sync.task import SyncTask
from gitloop.gitops.sync.types import TaskStatus
from gitloop.model.health import HealthStatus

MSG_NO_MORE_TASKS = "successfully synced (no more tasks)"
MSG_ALL_TASKS_RUN = "successfully synced (all tasks run)"
MSG_DRY_RUN_FAILED = "one or more objects failed to apply (dry run)"
MSG_APPLY_FAILED = "one or more objects failed to apply"
MSG_TASKS_FAILED = "one or more synchronization tasks completed unsuccessfully"
MSG_NAMESPACE_FAILED = "the namespace failed to apply"
MSG_SYNC_FAIL_HOOKS_FAILED = "one or more SyncFail hooks failed"
MSG_TERMINATED = "Operation terminated"


def with_reason(message: str, reasons: Sequence[str]) -> str:
    """``message, reason: a,b`` with the distinct non-empty reasons, sorted; ``message`` alone if none."""
    found = sorted({r for r in reasons if r})
    return f"{message}, reason: {','.join(found)}" if found else message


def hook_outcome(task: SyncTask, seen: LiveObservation) -> tuple[TaskStatus, str]:
    """A hook's status from its live object (gitops-engine's ``getOperationPhase``)."""
    found = seen.health
    if found is None:
        return TaskStatus.SUCCEEDED, f"{task.key.name} created"
    if found.status is HealthStatus.HEALTHY:
        return TaskStatus.SUCCEEDED, found.message
    if found.status in (HealthStatus.DEGRADED, HealthStatus.UNKNOWN):
        return TaskStatus.FAILED, found.message
    return TaskStatus.RUNNING, found.message


def resource_outcome(seen: LiveObservation) -> tuple[TaskStatus, str]:
    """A resource's status from its live object, while a wave waits for it; "" keeps the message."""
    found = seen.health
    if found is None:
        return TaskStatus.SUCCEEDED, ""
    if found.status is HealthStatus.HEALTHY:
        return TaskStatus.SUCCEEDED, found.message
    if found.status is HealthStatus.DEGRADED:
        return TaskStatus.FAILED, found.message
    return TaskStatus.RUNNING, ""


def running_message(tasks: Sequence[SyncTask], *, deletion: bool = False) -> str:
    """gitops-engine's ``setRunningPhase`` message."""
    if not tasks:
        return ""
    hook_tasks = [t for t in tasks if t.hook]
    reason = "completion of hook" if hook_tasks else "healthy state of"
    kind = "hooks" if len(hook_tasks) == len(tasks) else "resources"
    if deletion:
        reason = "deletion of hook" if hook_tasks else "deletion of"
    first = hook_tasks[0] if hook_tasks else tasks[0]
    message = f"waiting for {reason} {first.describe()}"
    return f"{message} and {len(tasks) - 1} more {kind}" if len(tasks) > 1 else message
