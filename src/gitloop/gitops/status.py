"""What gitloop knows about an Application between reconciliations, as Argo CD's ``status`` holds it.

``AppStatus`` is kept in the store (kind ``Application``, one record per Application) and is what
``gitloop app get`` shows: sync status and revision, health, one ``ResourceStatus`` per resource,
conditions (``ComparisonError``, ``SyncError``, ... with the reason), and ``OperationSummary`` of the
last sync operation — the record auto-sync reads to try each revision only once. Everything here
converts to and from JSON-compatible dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from gitloop.gitops.diff import ResourceDiff
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import ResourceKey
from gitloop.model.sync import SyncStatus
from gitloop.spec.redact import redact_strings

STORE_KIND = "Application"


class ConditionType(StrEnum):
    """Argo CD's Application condition types that gitloop raises."""

    INVALID_SPEC_ERROR = "InvalidSpecError"
    COMPARISON_ERROR = "ComparisonError"
    SYNC_ERROR = "SyncError"
    UNKNOWN_ERROR = "UnknownError"
    DELETION_ERROR = "DeletionError"
    SHARED_RESOURCE_WARNING = "SharedResourceWarning"
    REPEATED_RESOURCE_WARNING = "RepeatedResourceWarning"
    SYNC_WINDOW_BLOCKED = "SyncWindowBlocked"
    """gitloop's: an automated sync waits for the project's sync windows (``gitloop.gitops.windows``)."""

    @property
    def is_error(self) -> bool:
        return self.value.endswith("Error")


@dataclass(frozen=True)
class Condition:
    """Something wrong with an Application, with the reason in words."""

    type: ConditionType
    message: str
    time: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type.value, "message": self.message, "lastTransitionTime": self.time}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Condition:
        return cls(
            ConditionType(data["type"]), str(data["message"]), float(data.get("lastTransitionTime", 0))
        )


def _health_dict(result: HealthResult | None) -> dict[str, str] | None:
    return None if result is None else {"status": result.status.value, "message": result.message}


def _health_of(data: Any) -> HealthResult | None:
    if not isinstance(data, dict):
        return None
    return HealthResult(HealthStatus(data["status"]), str(data.get("message", "")))


@dataclass(frozen=True)
class ResourceStatus:
    """One resource of an Application: identity, sync status, health."""

    key: ResourceKey
    api_version: str
    status: SyncStatus
    health: HealthResult | None = None
    requires_pruning: bool = False
    message: str = ""
    diff: ResourceDiff | None = field(default=None, compare=False, repr=False)
    """The comparison behind ``status``; not stored."""

    def to_dict(self) -> dict[str, Any]:
        k = self.key
        return {
            "group": k.group,
            "apiVersion": self.api_version,
            "kind": k.kind,
            "namespace": k.namespace,
            "name": k.name,
            "status": self.status.value,
            "health": _health_dict(self.health),
            "requiresPruning": self.requires_pruning,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResourceStatus:
        key = ResourceKey(str(data["group"]), str(data["kind"]), str(data["namespace"]), str(data["name"]))
        return cls(
            key=key,
            api_version=str(data["apiVersion"]),
            status=SyncStatus(data["status"]),
            health=_health_of(data.get("health")),
            requires_pruning=bool(data.get("requiresPruning")),
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True)
class OperationSummary:
    """The last (or current) sync operation of an Application: Argo CD's ``status.operationState``."""

    id: str
    phase: str
    """An ``OperationPhase`` value: Running, Terminating, Failed, Error, Succeeded."""
    message: str
    revisions: tuple[str, ...]
    sources: tuple[Mapping[str, Any], ...] = ()
    automated: bool = False
    username: str = ""
    started_at: float = 0.0
    finished_at: float | None = None
    dry_run: bool = False
    prune: bool = False
    retry_count: int = 0
    self_heal_attempts: int = 0
    rollback_of: int | None = None
    """The history id a rollback returned to."""
    results: tuple[Mapping[str, Any], ...] = ()

    @property
    def completed(self) -> bool:
        return self.phase in ("Failed", "Error", "Succeeded")

    @property
    def succeeded(self) -> bool:
        return self.phase == "Succeeded"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "phase": self.phase,
            "message": self.message,
            "revisions": list(self.revisions),
            "sources": redact_strings([dict(s) for s in self.sources]),
            "initiatedBy": {"automated": self.automated, "username": self.username},
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "dryRun": self.dry_run,
            "prune": self.prune,
            "retryCount": self.retry_count,
            "selfHealAttemptsCount": self.self_heal_attempts,
            "rollbackOf": self.rollback_of,
            "resources": [dict(r) for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperationSummary:
        who = data.get("initiatedBy") or {}
        return cls(
            id=str(data["id"]),
            phase=str(data["phase"]),
            message=str(data.get("message", "")),
            revisions=tuple(data.get("revisions", ())),
            sources=tuple(data.get("sources", ())),
            automated=bool(who.get("automated")),
            username=str(who.get("username", "")),
            started_at=float(data.get("startedAt", 0.0)),
            finished_at=data.get("finishedAt"),
            dry_run=bool(data.get("dryRun")),
            prune=bool(data.get("prune")),
            retry_count=int(data.get("retryCount", 0)),
            self_heal_attempts=int(data.get("selfHealAttemptsCount", 0)),
            rollback_of=data.get("rollbackOf"),
            results=tuple(data.get("resources", ())),
        )


@dataclass(frozen=True)
class AppStatus:
    """An Application's status as last reconciled."""

    name: str
    sync_status: SyncStatus = SyncStatus.UNKNOWN
    revisions: tuple[str, ...] = ()
    health: HealthResult = field(default_factory=lambda: HealthResult(HealthStatus.UNKNOWN))
    resources: tuple[ResourceStatus, ...] = ()
    conditions: tuple[Condition, ...] = ()
    operation: OperationSummary | None = None
    reconciled_at: float = 0.0
    auto_sync_paused_at: str = ""
    """The revision auto-sync was paused at by a rollback; it resumes when git moves past it."""
    images: tuple[str, ...] = ()
    """The container images the live objects run (Argo CD's ``status.summary.images``)."""

    @property
    def revision(self) -> str:
        return self.revisions[0] if self.revisions else ""

    def with_conditions(self, conditions: Sequence[Condition], now: float) -> AppStatus:
        """``conditions`` as the current ones, keeping the time of those already present."""
        before = {(c.type, c.message): c.time for c in self.conditions}
        kept = tuple(replace(c, time=before.get((c.type, c.message), c.time or now)) for c in conditions)
        return replace(self, conditions=kept)

    def condition(self, kind: ConditionType) -> Condition | None:
        return next((c for c in self.conditions if c.type is kind), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sync": {"status": self.sync_status.value, "revisions": list(self.revisions)},
            "health": _health_dict(self.health),
            "resources": [r.to_dict() for r in self.resources],
            "conditions": [c.to_dict() for c in self.conditions],
            "operationState": None if self.operation is None else self.operation.to_dict(),
            "reconciledAt": self.reconciled_at,
            "autoSyncPausedAt": self.auto_sync_paused_at,
            "images": list(self.images),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AppStatus:
        sync = data.get("sync") or {}
        operation = data.get("operationState")
        return cls(
            name=str(data["name"]),
            sync_status=SyncStatus(sync.get("status", "Unknown")),
            revisions=tuple(sync.get("revisions", ())),
            health=_health_of(data.get("health")) or HealthResult(HealthStatus.UNKNOWN),
            resources=tuple(ResourceStatus.from_dict(r) for r in data.get("resources", ())),
            conditions=tuple(Condition.from_dict(c) for c in data.get("conditions", ())),
            operation=None if not isinstance(operation, dict) else OperationSummary.from_dict(operation),
            reconciled_at=float(data.get("reconciledAt", 0.0)),
            auto_sync_paused_at=str(data.get("autoSyncPausedAt", "")),
            images=tuple(data.get("images", ())),
        )
