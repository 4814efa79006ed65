"""The state of one sync operation: plain data, stored after every step, resumable from JSON.

It holds the plan, the operation's phase and message, the stage it is in, the wave last started,
the earliest time the next wave may start, and one ``TaskProgress`` per task: its status, result
code and message, the action it waits on, and what is known about its live object. ``results``
is what Argo CD calls the sync result: one entry per task that ran.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from gitloop.gitops.sync.plan import SyncPlan
from gitloop.gitops.sync.task import SyncTask
from gitloop.gitops.sync.types import HookType, OperationPhase, ResultCode, SyncPhase, TaskStatus
from gitloop.model.resources import ResourceKey

DEFAULT_WAVE_DELAY = 2.0
"""Seconds between waves, Argo CD's default (``ARGOCD_SYNC_WAVE_DELAY``)."""


class Stage(Enum):
    """Where the operation is: creating the namespace, dry-running, syncing, or running SyncFail hooks."""

    NAMESPACE = "namespace"
    DRY_RUN = "dry-run"
    SYNC = "sync"
    SYNC_FAIL = "sync-fail"


class Awaiting(Enum):
    """The action whose result a task waits for."""

    APPLY = "apply"
    DRY_RUN = "dry-run"
    PRUNE = "prune"
    DELETE = "delete"


@dataclass(frozen=True)
class TaskProgress:
    """Where one task stands."""

    status: TaskStatus = TaskStatus.PENDING
    result: ResultCode | None = None
    message: str = ""
    awaiting: Awaiting | None = None
    live: bool = False
    """Whether the object is believed to exist."""
    validated: bool = False
    """The dry run passed."""
    deleting: bool = False
    """A hook deleted before being created again, not yet seen gone."""
    gone: bool = False
    """A pruned object seen gone."""
    released: bool = False
    """The hook finalizer was removed."""
    deleted: bool = False
    """The hook was deleted by its delete policy."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "result": self.result.value if self.result else None,
            "message": self.message,
            "awaiting": self.awaiting.value if self.awaiting else None,
            "live": self.live,
            "validated": self.validated,
            "deleting": self.deleting,
            "gone": self.gone,
            "released": self.released,
            "deleted": self.deleted,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskProgress:
        return cls(
            status=TaskStatus(data["status"]),
            result=ResultCode(data["result"]) if data["result"] else None,
            message=str(data["message"]),
            awaiting=Awaiting(data["awaiting"]) if data["awaiting"] else None,
            live=bool(data["live"]),
            validated=bool(data["validated"]),
            deleting=bool(data["deleting"]),
            gone=bool(data["gone"]),
            released=bool(data["released"]),
            deleted=bool(data["deleted"]),
        )


@dataclass(frozen=True)
class ResourceResult:
    """One entry of the sync result (gitops-engine's ``ResourceSyncResult``)."""

    key: ResourceKey
    phase: SyncPhase
    wave: int
    status: ResultCode | None
    message: str
    hook_type: HookType | None
    hook_phase: TaskStatus


@dataclass(frozen=True)
class OperationState:
    """A sync operation between two steps."""

    plan: SyncPlan
    progress: Mapping[str, TaskProgress]
    phase: OperationPhase = OperationPhase.RUNNING
    message: str = ""
    stage: Stage = Stage.DRY_RUN
    wave: tuple[SyncPhase, int] | None = None
    """The phase and wave last started."""
    final_wave: bool = False
    """The wave last started is the last one."""
    not_before: float | None = None
    """The earliest time (driver's clock) the operation may go on after the last wave."""
    wave_delay: float = DEFAULT_WAVE_DELAY
    failure: str = ""
    """Why the operation is failing, once it is."""
    _index: Mapping[str, SyncTask] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {t.id: t for t in self.plan.tasks})

    def task(self, task_id: str) -> SyncTask:
        return self._index[task_id]

    def of(self, task: SyncTask) -> TaskProgress:
        return self.progress[task.id]

    def results(self) -> list[ResourceResult]:
        """The sync result so far: every task that ran or was skipped, in plan order."""
        found = []
        for task in self.plan.tasks:
            p = self.progress[task.id]
            if p.status is TaskStatus.PENDING and p.result is None:
                continue
            found.append(
                ResourceResult(task.key, task.phase, task.wave, p.result, p.message, task.hook_type, p.status)
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan.to_dict(),
            "progress": {k: v.to_dict() for k, v in self.progress.items()},
            "phase": self.phase.value,
            "message": self.message,
            "stage": self.stage.value,
            "wave": [self.wave[0].value, self.wave[1]] if self.wave else None,
            "finalWave": self.final_wave,
            "notBefore": self.not_before,
            "waveDelay": self.wave_delay,
            "failure": self.failure,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OperationState:
        wave = data["wave"]
        return cls(
            plan=SyncPlan.from_dict(data["plan"]),
            progress={k: TaskProgress.from_dict(v) for k, v in data["progress"].items()},
            phase=OperationPhase(data["phase"]),
            message=str(data["message"]),
            stage=Stage(data["stage"]),
            wave=(SyncPhase(wave[0]), int(wave[1])) if wave else None,
            final_wave=bool(data["finalWave"]),
            not_before=data["notBefore"],
            wave_delay=float(data["waveDelay"]),
            failure=str(data["failure"]),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> OperationState:
        return cls.from_dict(json.loads(text))


def start(plan: SyncPlan, *, wave_delay: float = DEFAULT_WAVE_DELAY) -> OperationState:
    """A new operation for ``plan``; ``wave_delay`` seconds pass between a wave and the next."""
    progress = {t.id: TaskProgress(live=t.live) for t in plan.tasks}
    stage = Stage.NAMESPACE if plan.namespace_task else Stage.DRY_RUN
    return OperationState(plan=plan, progress=progress, stage=stage, wave_delay=wave_delay)


def request_termination(state: OperationState) -> OperationState:
    """Ask a running operation to stop; the next ``decide`` terminates it."""
    if state.phase.completed:
        return state
    return replace(state, phase=OperationPhase.TERMINATING)
