"""A sync operation: what was asked (``SyncRequest``), the step machine's state, retries, its history entry.

``SyncRequest`` is the one type of a sync request from every face to the engine — Argo CD's
``SyncRequest`` / ``operation.sync``: the revisions and sources to sync (a manual request may name a
branch or tag; the engine resolves it before the operation starts), prune, dry run, force, the
selected resources, and who asked (a user, an automated sync, self-heal, a rollback).
``SyncOperation`` adds the resumable ``OperationState`` of the current attempt, the retry count and
when the next retry is due. It is stored (kind ``SyncOperation``, one record per Application) after
every step, so an operation survives the process. ``history_entry`` is what ``gitloop app history``
lists and ``rollback`` returns to.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitloop.errors import UsageError
from gitloop.gitops.status import OperationSummary
from gitloop.gitops.sync import OperationPhase, OperationState, ResourceSelector
from gitloop.spec.redact import redact_strings

STORE_KIND = "SyncOperation"


@dataclass(frozen=True)
class SyncRequest:
    """What a sync is asked to do, and by whom (stored with its operation as ``order``)."""

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

    @classmethod
    def manual(
        cls,
        *,
        revision: str | None = None,
        prune: bool = False,
        dry_run: bool = False,
        force: bool = False,
        resources: Sequence[str] = (),
        username: str = "",
    ) -> SyncRequest:
        """A sync asked by a person (``gitloop app sync``, the API): ``revision`` a branch, tag or SHA
        other than the target revision (the engine resolves it), ``resources`` as
        ``[GROUP]:KIND:[NAMESPACE/]NAME`` (``UsageError`` for a malformed one)."""
        return cls(
            revisions=(revision,) if revision else (),
            prune=prune,
            dry_run=dry_run,
            force=force,
            resources=tuple(ResourceSelector.parse(r) for r in resources),
            username=username,
        )

    @classmethod
    def from_argocd(cls, body: Mapping[str, Any], *, username: str = "") -> SyncRequest:
        """A sync asked through Argo CD's API: its ``SyncRequest`` body (``revision``, ``revisions``,
        ``prune``, ``dryRun``, ``strategy.apply.force`` / ``strategy.hook.force``, ``resources`` as
        ``{group, kind, namespace, name}``). ``UsageError`` for a malformed body or a field gitloop does
        not support (``syncOptions.items``: sync options are the Application's; ``manifests``;
        ``retryStrategy``; ``sourcePositions``)."""
        for unsupported in ("manifests", "retryStrategy", "sourcePositions"):
            if body.get(unsupported):
                raise UsageError(f"{unsupported} is not supported by gitloop's sync")
        options = body.get("syncOptions")
        if isinstance(options, Mapping) and options.get("items"):
            raise UsageError("syncOptions.items is not supported: set syncOptions in the Application")
        revisions = tuple(str(r) for r in body.get("revisions") or () if r)
        if not revisions and body.get("revision"):
            revisions = (str(body["revision"]),)
        strategy = body.get("strategy") or {}
        if not isinstance(strategy, Mapping):
            raise UsageError("strategy must be an object")
        force = any(
            isinstance(strategy.get(kind), Mapping) and bool(strategy[kind].get("force"))
            for kind in ("apply", "hook")
        )
        selectors = []
        for item in body.get("resources") or ():
            if not isinstance(item, Mapping) or not item.get("kind") or not item.get("name"):
                raise UsageError(f"resources: each needs a kind and a name, not {item!r}")
            selectors.append(
                ResourceSelector(
                    str(item.get("group") or ""),
                    str(item["kind"]),
                    str(item["name"]),
                    str(item.get("namespace") or ""),
                )
            )
        return cls(
            revisions=revisions,
            prune=bool(body.get("prune")),
            dry_run=bool(body.get("dryRun")),
            force=force,
            resources=tuple(selectors),
            username=username,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "revisions": list(self.revisions),
            "sources": redact_strings([dict(s) for s in self.sources]),
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
    def from_dict(cls, data: Mapping[str, Any]) -> SyncRequest:
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
    request: SyncRequest
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
            revisions=self.request.revisions,
            sources=self.request.sources,
            automated=self.request.automated,
            username=self.request.username,
            started_at=self.started_at,
            finished_at=self.finished_at,
            dry_run=self.request.dry_run,
            prune=self.request.prune,
            retry_count=self.retry_count,
            self_heal_attempts=self.request.self_heal_attempts,
            rollback_of=self.request.rollback_of,
            results=tuple(self.results()),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app": self.app,
            "order": self.request.to_dict(),
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
            request=SyncRequest.from_dict(data["order"]),
            started_at=float(data["startedAt"]),
            state=None if state is None else OperationState.from_dict(state),
            message=str(data.get("message", "")),
            retry_count=int(data.get("retryCount", 0)),
            next_retry_at=data.get("nextRetryAt"),
            finished_at=data.get("finishedAt"),
            commit=dict(data.get("commit") or {}),
            times=dict(data.get("times") or {}),
        )


def new_operation(app: str, request: SyncRequest, *, now: float | None = None) -> SyncOperation:
    started = time.time() if now is None else now
    return SyncOperation(id=f"{app}-{int(started * 1000)}", app=app, request=request, started_at=started)


def history_entry(operation: SyncOperation) -> dict[str, Any]:
    """The history record of a finished (not dry-run) operation."""
    return {
        "operation": operation.id,
        "revision": operation.request.revisions[0] if operation.request.revisions else "",
        "revisions": list(operation.request.revisions),
        "sources": redact_strings([dict(s) for s in operation.request.sources]),
        "sourceCommit": dict(operation.commit) or None,
        "phase": operation.phase.value,
        "message": operation.summary().message,
        "resources": operation.results(),
        "initiatedBy": {"automated": operation.request.automated, "username": operation.request.username},
        "rollbackOf": operation.request.rollback_of,
        "retries": operation.retry_count,
        "startedAt": operation.started_at,
        "finishedAt": operation.finished_at,
    }
