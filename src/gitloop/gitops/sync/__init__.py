"""Sync planning and the sync step machine, as Argo CD's gitops-engine ``pkg/sync`` does them.

``plan_sync`` turns desired manifests, tracked live objects and options into ordered tasks
(``plan``, ``order``, ``hooks``, ``options``, ``selection``); ``start`` makes a resumable
``OperationState`` of a plan; ``decide`` advances it one step from what the driver observed and
returns the actions to perform (``operation``, ``outcomes``, ``actions``, ``state``). Everything here is pure:
no cluster, no clock, no sleeping — the driver in ``service/`` does the I/O.
"""

from __future__ import annotations

from gitloop.gitops.sync.actions import (
    Action,
    ActionResult,
    Apply,
    CreateHook,
    DeleteHook,
    Finish,
    LiveObservation,
    Observations,
    Prune,
    ReleaseHook,
    WaitHealth,
)
from gitloop.gitops.sync.operation import Decision, decide, watched
from gitloop.gitops.sync.options import (
    PropagationPolicy,
    PruneMode,
    ResourceOptions,
    SyncOptions,
    parse_sync_options,
    resource_options,
)
from gitloop.gitops.sync.plan import NamespaceMetadata, PlanInput, SyncPlan, plan_sync
from gitloop.gitops.sync.selection import ResourceSelector
from gitloop.gitops.sync.state import OperationState, ResourceResult, TaskProgress, request_termination, start
from gitloop.gitops.sync.task import SyncTask
from gitloop.gitops.sync.types import (
    HookDeletePolicy,
    HookType,
    OperationPhase,
    ResultCode,
    SyncPhase,
    TaskAction,
    TaskStatus,
)

__all__ = [
    "Action",
    "ActionResult",
    "Apply",
    "CreateHook",
    "Decision",
    "DeleteHook",
    "Finish",
    "HookDeletePolicy",
    "HookType",
    "LiveObservation",
    "NamespaceMetadata",
    "Observations",
    "OperationPhase",
    "OperationState",
    "PlanInput",
    "PropagationPolicy",
    "Prune",
    "PruneMode",
    "ReleaseHook",
    "ResourceOptions",
    "ResourceResult",
    "ResourceSelector",
    "ResultCode",
    "SyncOptions",
    "SyncPhase",
    "SyncPlan",
    "SyncTask",
    "TaskAction",
    "TaskProgress",
    "TaskStatus",
    "WaitHealth",
    "decide",
    "parse_sync_options",
    "plan_sync",
    "request_termination",
    "resource_options",
    "start",
    "watched",
]
