"""A sync operation as stored: what was asked, the step machine's state, retries, and its history entry.

``SyncOrder`` is Argo CD's ``operation.sync`` (prune, dry run, selected resources, who asked, the
revisions and sources to sync); ``SyncOperation`` adds the resumable ``OperationState`` of the
current attempt, the retry count and when the next retry is due. It is stored (kind
``SyncOperation``, one record per Application) after every step, so an operation survives the
process. ``plan`` builds the step machine's plan from a comparison; ``history_entry`` is what
``gitloop app history`` lists and ``rollback`` returns to.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitloop.gitops.comparison import Comparison
from gitloop.gitops.status import OperationSummary
from gitloop.gitops.sync import (
    NamespaceMetadata,
    OperationPhase,
    OperationState,
    ResourceSelector,
    SyncOptions,
    SyncPlan,
    SyncRequest,
    plan_sync,
)
from gitloop.gitops.sync.plan import CLUSTER_SCOPED
from gitloop.spec.argocd import Application

STORE_KIND = "SyncOperation"


@dataclass(frozen=True)
class SyncOrder:
    """What a sync was asked to do, and by whom."""

    revisions: tuple[str, ...] = ()
    sources: tuple[Mapping[str, Any], ...] = ()
    prune: bool = False
    dry_run: bool = False
    force: bool = False
    resources: tuple[ResourceSelector, ...] = ()
    automated: bool = False
    username: str = ""
    self_heal_attempts: int = 0
    rollback_of: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "revisions": list(self.revisions),
            "sources": [dict(s) for s in self.sources],
            "prune": self.prune,
            "dryRun": self.dry_run,
            "force": self.force,
            "resources": [str(r) for r in self.resources],
            "automated": self.automated,
            "username": self.username,
            "selfHealAttemptsCount": self.self_heal_attempts,
            "rollbackOf": self.rollback_of,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncOrder:
        return cls(
            revisions=tuple(data.get("revisions") or ()),
            sources=tuple(data.get("sources") or ()),
            prune=bool(data.get("prune")),
            dry_run=bool(data.get("dryRun")),
            force=bool(data.get("force")),
            resources=tuple(ResourceSelector.parse(r) for r in data.get("resources", ())),
            automated=bool(data.get("automated")),
            username=str(data.get("username", "")),
            self_heal_attempts=int(data.get("selfHealAttemptsCount", 0)),
            rollback_of=data.get("rollbackOf"),
        )


@dataclass(frozen=True)
class SyncOperation:
    """One sync operation of one Application, between two steps."""

    id: str
    app: str
    order: SyncOrder
    started_at: float
    state: OperationState | None = None
    """The current attempt; ``None`` before it is planned, or when planning failed (``message``)."""
    message: str = ""
    retry_count: int = 0
    next_retry_at: float | None = None
    finished_at: float | None = None
    commit: Mapping[str, Any] = field(default_factory=dict)
    """The synced commit's author, time and message (first source)."""
    times: Mapping[str, float] = field(default_factory=dict)
    """When each task was applied or pruned (by task id), on the driver's clock."""

    @property
    def phase(self) -> OperationPhase:
        if self.state is None:
            return OperationPhase.FAILED if self.finished_at is not None else OperationPhase.RUNNING
        return self.state.phase

    @property
    def completed(self) -> bool:
        """Finished, and no retry pending."""
        return self.finished_at is not None and self.next_retry_at is None

    def results(self) -> list[dict[str, Any]]:
        """Per-resource results: Argo CD's ``syncResult.resources``."""
        if self.state is None:
            return []
        ids = {(t.key, t.phase): t.id for t in self.state.plan.tasks}
        return [
            {
                "time": self.times.get(ids.get((r.key, r.phase), "")),
                "group": r.key.group,
                "kind": r.key.kind,
                "namespace": r.key.namespace,
                "name": r.key.name,
                "status": r.status.value if r.status else None,
                "message": r.message,
                "hookType": r.hook_type.value if r.hook_type else None,
                "hookPhase": r.hook_phase.value,
                "syncPhase": r.phase.value,
                "wave": r.wave,
            }
            for r in self.state.results()
        ]

    def describe(self) -> str:
        """The operation's message; a failure names each failed resource and why, when it does not."""
        message = self.message or (self.state.message if self.state else "")
        if self.phase not in (OperationPhase.FAILED, OperationPhase.ERROR):
            return message
        reasons = [
            f"{r['kind']}/{r['name']}: {r['message']}"
            for r in self.results()
            if (r["status"] == "SyncFailed" or r["hookPhase"] == "Failed")
            and r["message"]
            and r["message"] not in message
        ]
        return "; ".join([message, *reasons]) if reasons else message

    def summary(self) -> OperationSummary:
        return OperationSummary(
            id=self.id,
            phase=self.phase.value,
            message=self.describe(),
            revisions=self.order.revisions,
            sources=self.order.sources,
            automated=self.order.automated,
            username=self.order.username,
            started_at=self.started_at,
            finished_at=self.finished_at,
            dry_run=self.order.dry_run,
            prune=self.order.prune,
            retry_count=self.retry_count,
            self_heal_attempts=self.order.self_heal_attempts,
            rollback_of=self.order.rollback_of,
            results=tuple(self.results()),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app": self.app,
            "order": self.order.to_dict(),
            "startedAt": self.started_at,
            "state": None if self.state is None else self.state.to_dict(),
            "message": self.message,
            "retryCount": self.retry_count,
            "nextRetryAt": self.next_retry_at,
            "finishedAt": self.finished_at,
            "commit": dict(self.commit),
            "times": dict(self.times),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncOperation:
        state = data.get("state")
        return cls(
            id=str(data["id"]),
            app=str(data["app"]),
            order=SyncOrder.from_dict(data["order"]),
            started_at=float(data["startedAt"]),
            state=None if state is None else OperationState.from_dict(state),
            message=str(data.get("message", "")),
            retry_count=int(data.get("retryCount", 0)),
            next_retry_at=data.get("nextRetryAt"),
            finished_at=data.get("finishedAt"),
            commit=dict(data.get("commit") or {}),
            times=dict(data.get("times") or {}),
        )


def new_operation(app: str, order: SyncOrder, *, now: float | None = None) -> SyncOperation:
    started = time.time() if now is None else now
    return SyncOperation(id=f"{app}-{int(started * 1000)}", app=app, order=order, started_at=started)


def plan(
    app: Application,
    comparison: Comparison,
    order: SyncOrder,
    options: SyncOptions,
    *,
    started_at: float,
    namespace_exists: bool = True,
    cluster_scoped: frozenset[tuple[str, str]] = frozenset(),
) -> SyncPlan:
    """The plan of one attempt of ``order`` from a fresh ``comparison`` (``SpecError`` if it cannot be)."""
    policy = app.sync_policy
    metadata = None
    if policy.managed_namespace_metadata:
        metadata = NamespaceMetadata(
            dict(policy.namespace_labels or {}), dict(policy.namespace_annotations or {})
        )
    request = SyncRequest(
        desired=list(comparison.desired),
        live=list(comparison.live.values()),
        namespace=app.destination.namespace,
        revision=order.revisions[0] if order.revisions else "",
        started_at=int(started_at),
        options=options,
        sync_status={r.key: r.status for r in comparison.resources},
        prune=order.prune,
        dry_run=order.dry_run,
        force=order.force,
        resources=order.resources,
        namespace_exists=namespace_exists,
        managed_namespace_metadata=metadata,
        cluster_scoped=CLUSTER_SCOPED | cluster_scoped,
    )
    return plan_sync(request)


def history_entry(operation: SyncOperation) -> dict[str, Any]:
    """The history record of a finished (not dry-run) operation."""
    return {
        "operation": operation.id,
        "revision": operation.order.revisions[0] if operation.order.revisions else "",
        "revisions": list(operation.order.revisions),
        "sources": [dict(s) for s in operation.order.sources],
        "sourceCommit": dict(operation.commit) or None,
        "phase": operation.phase.value,
        "message": operation.summary().message,
        "resources": operation.results(),
        "initiatedBy": {"automated": operation.order.automated, "username": operation.order.username},
        "rollbackOf": operation.order.rollback_of,
        "retries": operation.retry_count,
        "startedAt": operation.started_at,
        "finishedAt": operation.finished_at,
    }
