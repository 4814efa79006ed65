"""Whether to start an automated sync, decided exactly as Argo CD's controller decides it (``autoSync``).

Given the Application, its previous status (with the last operation) and the fresh comparison:

1. only with ``syncPolicy.automated`` (not ``enabled: false``), no operation running, and the
   Application OutOfSync (never when Synced or Unknown);
2. without ``automated.prune``, not when the only differences are resources to prune;
3. a revision is tried once: when the last sync was to the same revision(s) and source(s), a failed
   attempt is not repeated (a ``SyncError`` condition says so — retries are the operation's own
   ``syncPolicy.retry``), and a successful one is repeated only with ``selfHeal``;
4. self-heal waits with exponential backoff: the n-th consecutive self-heal waits
   ``2s × 3^(n-1)`` (at most 5 min) after the last sync finished; the count resets once the
   Application stayed Synced for the cool-down (330 s) after a sync. A self-heal syncs only the
   resources that are not Synced;
5. with ``automated.prune`` and without ``allowEmpty``, not when every resource would be pruned
   ("auto-sync will wipe out all resources").

6. the project's sync windows (``gitloop.gitops.windows``) must allow it: a blocked sync waits with a
   ``SyncWindowBlocked`` condition naming the blocking windows and is looked at again when the next
   window opens or closes.

gitloop adds one rule (rollback-aware auto-sync): after ``gitloop app rollback --disable-auto-sync``,
auto-sync stays paused while git still points at the revision it pointed at when the rollback was
made; the next commit resumes it. A revert rollback (``gitloop app rollback --revert``) sets the same
pause at git's revision from before it fetches the config branch until its revert is pushed, so no
auto-sync to the pre-revert revision starts meanwhile; the revert's commit resumes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitloop.gitops.comparison import Comparison
from gitloop.gitops.status import AppStatus, Condition, ConditionType
from gitloop.gitops.sync import ResourceSelector
from gitloop.gitops.windows import WindowState
from gitloop.model.sync import SyncStatus
from gitloop.spec.argocd import Application
from gitloop.spec.redact import redact_strings

WINDOW_MARGIN = 0.05
"""Seconds past a window's boundary at which a blocked auto-sync is looked at again."""


@dataclass(frozen=True)
class SelfHealBackoff:
    """Argo CD's self-heal backoff (``--self-heal-backoff-*``): timeout, factor, cap, cool-down."""

    timeout: float = 2.0
    factor: float = 3.0
    cap: float = 300.0
    cooldown: float = 330.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after a sync before self-heal number ``attempts + 1``."""
        if attempts <= 0:
            return 0.0
        return min(self.cap, self.timeout * self.factor ** (attempts - 1))


@dataclass(frozen=True)
class AutoSyncDecision:
    """Start an automated sync or not; why not; when to look again."""

    sync: bool
    reason: str = ""
    condition: Condition | None = None
    retry_after: float | None = None
    self_heal: bool = False
    self_heal_attempts: int = 0
    resources: tuple[ResourceSelector, ...] = ()
    """For a self-heal: the resources to sync (those not Synced); empty means all."""


def _without_revision(source: Mapping[str, Any]) -> str:
    """A source as compared: ``targetRevision`` aside, URL passwords masked (recorded sources are stored
    masked, so an Application's own must compare masked too)."""
    kept = {k: v for k, v in source.items() if k != "targetRevision"}
    return json.dumps(redact_strings(kept), sort_keys=True)


def already_attempted(app: Application, status: AppStatus, revisions: tuple[str, ...]) -> bool:
    """Whether the last sync was to ``revisions`` with the Application's sources (targetRevision aside)."""
    last = status.operation
    if last is None or last.dry_run or not last.completed or last.revisions != revisions:
        return False
    if not last.sources:
        return True
    return [_without_revision(s) for s in last.sources] == [_without_revision(s.raw) for s in app.sources]


def decide(
    app: Application,
    status: AppStatus,
    comparison: Comparison,
    *,
    now: float,
    operation_running: bool = False,
    backoff: SelfHealBackoff | None = None,
    window: WindowState | None = None,
) -> AutoSyncDecision:
    """Argo CD's auto-sync decision for ``app`` given its previous ``status`` and a fresh ``comparison``."""
    backoff = backoff or SelfHealBackoff()
    policy = app.sync_policy
    automated = policy.automated
    if automated is None or not automated.enabled:
        return AutoSyncDecision(False, "automated sync is not enabled")
    if operation_running:
        return AutoSyncDecision(False, "another operation is in progress")
    if comparison.sync_status is not SyncStatus.OUT_OF_SYNC:
        return AutoSyncDecision(False, f"application status is {comparison.sync_status}")
    changed = [r for r in comparison.resources if r.status is not SyncStatus.SYNCED]
    if not automated.prune and all(r.requires_pruning for r in changed):
        return AutoSyncDecision(False, "need to prune extra resources only but automated prune is disabled")
    revision = ",".join(r[:12] for r in comparison.revisions)
    if status.auto_sync_paused_at and status.auto_sync_paused_at == ",".join(comparison.revisions):
        return AutoSyncDecision(
            False, f"auto-sync is paused after a rollback until a commit newer than {revision} arrives"
        )
    attempts = 0
    keys: tuple[ResourceSelector, ...] = ()
    if already_attempted(app, status, comparison.revisions):
        last = status.operation
        assert last is not None
        if not last.succeeded:
            message = f"Failed sync attempt to {revision}: {last.message}"
            return AutoSyncDecision(
                False, "failed previous sync attempt", Condition(ConditionType.SYNC_ERROR, message)
            )
        if not automated.self_heal:
            return AutoSyncDecision(False, f"most recent sync already to {revision}")
        since = now - (last.finished_at or now)
        attempts = last.self_heal_attempts
        if status.sync_status is SyncStatus.SYNCED and since >= backoff.cooldown:
            attempts = 0
        wait = backoff.delay(attempts) - since
        if wait > 0:
            return AutoSyncDecision(False, f"self-heal backs off for {wait:.1f}s", retry_after=wait)
        attempts += 1
        keys = tuple(ResourceSelector(r.key.group, r.key.kind, r.key.name, r.key.namespace) for r in changed)
    if (
        automated.prune
        and not automated.allow_empty
        and all(r.requires_pruning for r in comparison.resources)
    ):
        message = f"Skipping sync attempt to {revision}: auto-sync will wipe out all resources"
        return AutoSyncDecision(
            False, "would prune every resource", Condition(ConditionType.SYNC_ERROR, message)
        )
    if window is not None and not window.allowed:
        message = f"auto-sync to {revision} waits: {window.message()}"
        retry = None if window.next_change is None else max(0.0, window.next_change - now) + WINDOW_MARGIN
        return AutoSyncDecision(
            False, "sync window", Condition(ConditionType.SYNC_WINDOW_BLOCKED, message), retry_after=retry
        )
    return AutoSyncDecision(True, self_heal=bool(keys), self_heal_attempts=attempts, resources=keys)
