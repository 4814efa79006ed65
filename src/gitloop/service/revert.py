"""Rollback by git revert, wired: revert the config commit that brought an Application's current
state, as a new commit pushed to its config branch, and let auto-sync apply it.

One call (:func:`revert_rollback`): the Application's last successful (not dry-run) sync in its
history gives the synced revision; a full clone of its source repository in a temporary directory
(:class:`gitloop.git.revert.RevertTree`, with the credentials its git mirror uses) serves the handoff
engine's :func:`gitloop.handoff.revert.land_revert`, which picks the commit and lands the revert with
the handoff's retries and its per-machine turns (``gitloop.service.handoff``'s lock files).

Auto-sync never fights it: from before the branch is fetched until the revert is pushed, the
Application's auto-sync is paused at git's current revision (:meth:`Reconciler.auto_sync_held`), so
no automated sync to the pre-revert revision starts meanwhile; the pushed revert moves git past it,
which ends the pause, and the refresh that follows lets auto-sync sync the revert. A failed revert
puts the pause back as it was, and so does a revert that changes nothing (another one landed first).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from gitloop.errors import GitError, SyncError, UsageError
from gitloop.git.mirror import GitMirror
from gitloop.git.revert import RevertConflictError, RevertTree
from gitloop.git.worktree import Identity
from gitloop.gitops.engine import Engine
from gitloop.handoff.landing import PushRetry
from gitloop.handoff.revert import ConfigCommit, RevertConflict, RevertResult, land_revert
from gitloop.ports import HistoryEntry
from gitloop.service.handoff import DEFAULT_AUTHOR, WorktreeBranch, lock_directory

__all__ = ["CloneBranch", "revert_rollback", "synced_revision"]


class _NothingLanded(Exception):
    """The revert changed nothing: leave the ``auto_sync_held`` block so that the pause is put back."""

    def __init__(self, result: RevertResult) -> None:
        super().__init__("nothing to revert")
        self.result = result


@dataclass
class CloneBranch:
    """The revert engine's :class:`~gitloop.handoff.revert.RevertBranch` over one branch of a
    :class:`RevertTree`; fetch, push and turns are the image handoff's (:class:`WorktreeBranch`)."""

    tree: RevertTree
    branch: WorktreeBranch

    @property
    def where(self) -> str:
        return self.branch.where

    @property
    def name(self) -> str:
        return self.branch.name

    @property
    def remote(self) -> bool:
        return self.branch.remote

    def turn(self) -> AbstractContextManager[None]:
        return self.branch.turn()

    def fetch(self) -> str:
        return self.branch.fetch()

    def history(self, start: str, path: str, limit: int) -> list[ConfigCommit]:
        return [ConfigCommit(c.sha, c.parents, c.message) for c in self.tree.history(start, path, limit)]

    def revert(self, base: str, commit: str, *, message: str) -> str | None:
        try:
            return self.tree.revert(
                base, commit, message=message, author=self.branch.author, committer=self.branch.committer
            )
        except RevertConflictError as exc:
            raise RevertConflict(exc.commit, exc.files) from exc

    def push(self, commit: str, *, parent: str) -> None:
        self.branch.push(commit, parent=parent)


def synced_revision(app: str, entries: Sequence[HistoryEntry]) -> str:
    """The revision of the Application's last successful sync; ``SyncError`` when it has none."""
    for entry in reversed(entries):
        revision = str(entry.doc.get("revision") or "")
        if entry.doc.get("phase") == "Succeeded" and revision:
            return revision
    raise SyncError(f"{app}: no successful sync in its history, so no config commit to revert")


def _land(
    engine: Engine, name: str, synced: str, author: Identity, retry: PushRetry, lock_dir: Path | None
) -> RevertResult:
    app = engine.app(name)
    source = app.sources[0]
    mirror = engine.sources.repo(source.repo_url)
    credentials = mirror.credentials() if isinstance(mirror, GitMirror) else None
    with tempfile.TemporaryDirectory(prefix="gitloop-revert-") as tmp:
        tree = RevertTree(source.repo_url, Path(tmp) / "repo", credentials=credentials)
        revision = (source.target_revision or "").strip()
        branch_name = revision if revision not in ("", "HEAD") else tree.worktree.default_branch()
        branch = WorktreeBranch(
            tree.worktree,
            branch_name,
            author,
            DEFAULT_AUTHOR,
            locks=lock_dir if lock_dir is not None else lock_directory(),
        )
        path = (source.path or "").strip().strip("/")
        return land_revert(CloneBranch(tree, branch), app=name, path=path, synced=synced, retry=retry)


async def revert_rollback(
    engine: Engine,
    name: str,
    *,
    username: str = "",
    wait: bool = False,
    retry: PushRetry | None = None,
    lock_dir: Path | None = None,
) -> RevertResult:
    """Revert the config commit that brought ``name``'s current state (see the module documentation)
    and refresh it, so auto-sync (when on) starts syncing the revert; with ``wait``, until that sync
    ends. ``SyncError`` when there is nothing to revert, :class:`RevertConflict` on a conflict,
    ``GitError`` when git fails; nothing is pushed then."""
    app = engine.app(name)
    if len(app.sources) != 1:
        raise SyncError(
            f"{name}: a revert rollback needs an Application with one source ({len(app.sources)})"
        )
    if app.sources[0].chart:
        raise SyncError(f"{name}: its source is a Helm chart repository, not git: nothing to revert")
    synced = synced_revision(name, engine.history(name))
    try:
        author = Identity(username, DEFAULT_AUTHOR.email) if username.strip() else DEFAULT_AUTHOR
    except UsageError:  # a user name git cannot take as an author
        author = DEFAULT_AUTHOR
    try:
        async with engine.reconciler.auto_sync_held(name):
            result = await asyncio.to_thread(
                _land, engine, name, synced, author, retry or PushRetry(), lock_dir
            )
            if result.commit is None:
                raise _NothingLanded(result)
    except _NothingLanded as nothing:  # the pause is put back: no commit will move git past it
        return nothing.result
    try:
        await engine.refresh(name, hard=True, auto_sync=True)
    except GitError:  # the revert is pushed; the loop's next refresh picks it up
        return result
    task = engine.reconciler.running.get(name)
    if wait and task is not None:
        await task
    return result
