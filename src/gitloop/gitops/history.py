"""Sync history and rollback targets.

Every finished sync operation (not a dry run) is appended to the store's history of its Application
(owner ``Application/<name>``; ``operation.history_entry`` is the record). A rollback returns to a
successful entry among the last ``revisionHistoryLimit`` ones — by default the one before the last, as
``argocd app rollback`` without an id does — by syncing that entry's revisions and sources again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gitloop.errors import SyncError
from gitloop.gitops.operation import SyncRequest
from gitloop.ports import HistoryEntry

HISTORY_PREFIX = "Application/"


def history_owner(app: str) -> str:
    """The store's history owner of an Application."""
    return f"{HISTORY_PREFIX}{app}"


def rollback_target(
    app: str, entries: Sequence[HistoryEntry], history_id: int | None, limit: int
) -> HistoryEntry:
    """The entry a rollback returns to; ``SyncError`` naming the choices when there is none."""
    kept = [e for e in entries if e.doc.get("phase") == "Succeeded"]
    kept = kept[-limit:] if limit else kept
    if history_id is None:
        if len(kept) < 2:
            raise SyncError(f"{app}: no previous deployment to roll back to ({len(kept)} in history)")
        return kept[-2]
    for entry in kept:
        if entry.id == history_id:
            return entry
    known = ", ".join(str(e.id) for e in kept) or "none"
    raise SyncError(f"{app}: no successful deployment with history id {history_id} (known: {known})")


def rollback_request(entry: HistoryEntry, *, prune: bool = False, username: str = "") -> SyncRequest:
    """A sync of the revisions and sources ``entry`` recorded."""
    recorded = SyncRequest.from_dict(
        {"revisions": entry.doc.get("revisions"), "sources": entry.doc.get("sources")}
    )
    return replace(recorded, prune=prune, username=username, rollback_of=entry.id)
