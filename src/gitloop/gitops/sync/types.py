"""The vocabulary of a sync operation, named as Argo CD's gitops-engine ``pkg/sync/common`` names it.

Phases a task runs in, hook types and hook deletion policies (the values users write in
annotations), the result code recorded per resource, the phase of the whole operation, and two
gitloop words: the status of one task inside the step machine and the action a task performs.
"""

from __future__ import annotations

from enum import Enum


class SyncPhase(Enum):
    """When a task runs; members are in execution order (``rank``)."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    """Runs only when the operation fails."""

    @property
    def rank(self) -> int:
        """-1 for PreSync, 0 for Sync, 1 for PostSync, 2 for SyncFail (gitops-engine's order)."""
        return _PHASE_RANK[self]

    def __str__(self) -> str:
        return self.value


_PHASE_RANK = {SyncPhase.PRE_SYNC: -1, SyncPhase.SYNC: 0, SyncPhase.POST_SYNC: 1, SyncPhase.SYNC_FAIL: 2}


class HookType(Enum):
    """A value of ``argocd.argoproj.io/hook`` (or what a ``helm.sh/hook`` maps to)."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    SKIP = "Skip"
    """Not a hook: the resource is neither applied nor pruned."""
    PRE_DELETE = "PreDelete"
    """Runs when the Application is deleted, never during a sync."""
    POST_DELETE = "PostDelete"
    """Runs after the Application's resources are deleted, never during a sync."""

    @property
    def sync_phase(self) -> SyncPhase | None:
        """The sync phase a hook of this type runs in; ``None`` for Skip, PreDelete and PostDelete."""
        try:
            return SyncPhase(self.value)
        except ValueError:
            return None

    def __str__(self) -> str:
        return self.value


class HookDeletePolicy(Enum):
    """A value of ``argocd.argoproj.io/hook-delete-policy``."""

    BEFORE_HOOK_CREATION = "BeforeHookCreation"
    """Delete an existing hook object before creating it again (the default)."""
    HOOK_SUCCEEDED = "HookSucceeded"
    """Delete the hook when the operation succeeds."""
    HOOK_FAILED = "HookFailed"
    """Delete the hook when the operation fails."""

    def __str__(self) -> str:
        return self.value


class ResultCode(Enum):
    """What a sync did to one resource."""

    SYNCED = "Synced"
    SYNC_FAILED = "SyncFailed"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"

    def __str__(self) -> str:
        return self.value


class OperationPhase(Enum):
    """The phase of a whole sync operation."""

    RUNNING = "Running"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    ERROR = "Error"
    SUCCEEDED = "Succeeded"

    @property
    def completed(self) -> bool:
        """Failed, Error and Succeeded are final."""
        return self in (OperationPhase.FAILED, OperationPhase.ERROR, OperationPhase.SUCCEEDED)

    def __str__(self) -> str:
        return self.value


class TaskStatus(Enum):
    """Where one task stands (gitops-engine's per-task ``HookPhase``, with "not started" named)."""

    PENDING = "Pending"
    """Not run yet."""
    RUNNING = "Running"
    """Applied; waiting for the object to become healthy (or the hook to complete)."""
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def completed(self) -> bool:
        return self in (TaskStatus.SUCCEEDED, TaskStatus.FAILED)

    def __str__(self) -> str:
        return self.value


class TaskAction(Enum):
    """What a task does to the cluster."""

    APPLY = "apply"
    """Apply the desired object (server-side or client-side, by the task's options)."""
    CREATE = "create"
    """``Replace=true`` and the object does not exist yet: create it."""
    REPLACE = "replace"
    """``Replace=true`` and the object exists: replace it (delete and re-create when forced)."""
    PRUNE = "prune"
    """Delete a live object that git no longer holds."""
    SKIP = "skip"
    """A prune that is not done (``Prune=false``, or pruning not enabled); recorded as PruneSkipped."""

    def __str__(self) -> str:
        return self.value
