"""Rollback by git revert: choose the config commit that brought an Application's current state and
land a new commit that undoes it on the tip of the config branch, with the handoff's push retries.

Choosing (:func:`choose_commit`, pure): walk the first-parent history of the Application's path from
the revision it last synced successfully, newest first. A commit carrying ``Gitloop-Revert-Of`` is a
revert gitloop made: it and the commit it reverted are passed over, so a second rollback goes one
change further back instead of redoing the first. The first other commit is the one to revert; a
merge commit there is refused (``git revert`` of a merge needs a mainline, a human's choice).

Landing (:func:`land_revert`): fetch the tip, revert the chosen commit on it (``git revert --no-edit``
semantics: a three-way merge, so later changes elsewhere stay), push; when the push is refused
because the branch moved on, do it again on the new tip after the handoff's backoff. A conflict is a
:class:`RevertConflict` naming the commit and the files, and nothing is pushed. A revert that changes
nothing (the tip no longer has the change) makes no commit.

The message is git's own (``Revert "<subject>"``, ``This reverts commit <sha>.``), which DORA's
change failure rate counts as a revert, then gitloop's trailers: ``Gitloop-Revert-Of: <sha>`` and the
reverted commit's ``Gitloop-Source-Commit``.

Layer 3 (engines): the git behind the branch is the :class:`RevertBranch` port, implemented by the
composition layer (:mod:`gitloop.service.revert`); nothing here runs git.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gitloop.errors import GitError, SyncError
from gitloop.handoff.landing import BranchMoved, LandingBranch, PushRetry
from gitloop.model.trailers import TRAILER_REVERT_OF, TRAILER_SOURCE_COMMIT, parse_trailers

__all__ = [
    "HISTORY_LIMIT",
    "ConfigCommit",
    "RevertBranch",
    "RevertConflict",
    "RevertResult",
    "choose_commit",
    "land_revert",
    "revert_message",
]

log = logging.getLogger(__name__)

HISTORY_LIMIT = 200
"""Commits of the Application's path looked at, newest first, for the one to revert."""


@dataclass(frozen=True)
class ConfigCommit:
    """A commit of the config repository that changed the Application's path."""

    sha: str
    parents: tuple[str, ...]
    message: str

    @property
    def subject(self) -> str:
        return self.message.strip().split("\n", 1)[0].strip()

    @property
    def trailers(self) -> dict[str, str]:
        return parse_trailers(self.message)


class RevertConflict(GitError):
    """Reverting a commit on the branch's tip conflicts: later commits changed the same lines."""

    def __init__(self, commit: str, files: Sequence[str]) -> None:
        self.commit = commit
        self.files = tuple(files)
        named = ", ".join(self.files) or "(git named none)"
        super().__init__(
            f"reverting config commit {commit[:12]} conflicts with later changes in: {named}; "
            "nothing was changed (revert it by hand, or roll back from history)"
        )


class RevertBranch(LandingBranch, Protocol):
    """One branch of a config repository, as a revert sees it (its fetch brings the history behind the
    tip)."""

    def history(self, start: str, path: str, limit: int) -> list[ConfigCommit]:
        """At most ``limit`` first-parent ancestors of ``start`` (itself included) that changed
        ``path`` (``""``: any), newest first; ``GitError`` when ``start`` is not in the repository."""
        ...

    def revert(self, base: str, commit: str, *, message: str) -> str | None:
        """A commit on ``base`` undoing ``commit``; ``None`` when that changes nothing;
        :class:`RevertConflict` when it conflicts."""
        ...


@dataclass(frozen=True)
class RevertResult:
    """What happened: ``commit`` is ``None`` when the tip no longer had the change (no commit)."""

    commit: str | None
    reverted: str
    subject: str
    source_commit: str | None
    repository: str
    branch: str
    path: str
    base: str
    attempts: int
    pushed: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "committed" if self.commit else "unchanged",
            "commit": self.commit,
            "revertOf": self.reverted,
            "subject": self.subject,
            "sourceCommit": self.source_commit,
            "repository": self.repository,
            "branch": self.branch,
            "path": self.path,
            "base": self.base,
            "attempts": self.attempts,
            "pushed": self.pushed,
        }


def choose_commit(app: str, path: str, commits: Sequence[ConfigCommit]) -> ConfigCommit:
    """The commit to revert among ``commits`` (the path's first-parent history, newest first): the
    newest one that is neither a gitloop revert nor reverted by one (see the module documentation).
    ``SyncError`` when there is none or it is a merge."""
    reverted: set[str] = set()
    where = f"path {path!r}" if path else "the repository"
    for commit in commits:
        target = commit.trailers.get(TRAILER_REVERT_OF)
        if target:
            reverted.add(target)
            continue
        if commit.sha in reverted:
            continue
        if len(commit.parents) > 1:
            raise SyncError(
                f"{app}: the config commit that brought its current state, {commit.sha[:12]} "
                f"({commit.subject}), is a merge; revert it by hand with a mainline (git revert -m)"
            )
        if not commit.parents:
            raise SyncError(
                f"{app}: the config commit that brought its current state, {commit.sha[:12]} "
                f"({commit.subject}), is the first commit of {where}; there is nothing before it"
            )
        return commit
    raise SyncError(f"{app}: no commit of {where} to revert in the {len(commits)} looked at")


def revert_message(commit: ConfigCommit) -> str:
    """``git revert --no-edit``'s message for ``commit``, then gitloop's trailers."""
    trailers = [f"{TRAILER_REVERT_OF}: {commit.sha}"]
    source = commit.trailers.get(TRAILER_SOURCE_COMMIT)
    if source:
        trailers.append(f"{TRAILER_SOURCE_COMMIT}: {source}")
    return f'Revert "{commit.subject}"\n\nThis reverts commit {commit.sha}.\n\n' + "\n".join(trailers) + "\n"


def land_revert(
    branch: RevertBranch,
    *,
    app: str,
    path: str,
    synced: str,
    retry: PushRetry,
    limit: int = HISTORY_LIMIT,
) -> RevertResult:
    """Revert the config commit that brought ``synced`` (the Application's last successful sync) to
    ``path`` on the tip of ``branch`` and push it, again on the new tip while the branch moves on.
    ``SyncError`` when there is no commit to revert, :class:`RevertConflict` on a conflict,
    ``GitError`` when the branch moved on before each of ``retry.max_attempts`` pushes."""
    chosen: ConfigCommit | None = None
    message = ""
    for attempt in range(1, retry.max_attempts + 1):
        try:
            with branch.turn():
                base = branch.fetch()
                if chosen is None:
                    chosen = choose_commit(app, path, branch.history(synced, path, limit))
                    message = revert_message(chosen)
                commit = branch.revert(base, chosen.sha, message=message)
                if commit is not None:
                    branch.push(commit, parent=base)
        except BranchMoved as exc:
            if attempt == retry.max_attempts:
                raise GitError(
                    f"gave up reverting {chosen.sha[:12] if chosen else synced[:12]}: branch {branch.name} "
                    f"of {branch.where} moved on before each of {retry.max_attempts} pushes"
                ) from exc
            pause = retry.pause(attempt)
            log.info(
                "push %d of a revert to %s was refused (branch moved); again in %.2fs",
                attempt,
                branch.where,
                pause,
            )
            retry.sleep(pause)
            continue
        if commit is None:
            log.info(
                "%s branch %s no longer has %s: no revert commit", branch.where, branch.name, chosen.sha[:12]
            )
        else:
            log.info(
                "reverted %s: commit %s on %s of %s", chosen.sha[:12], commit[:12], branch.name, branch.where
            )
        return RevertResult(
            commit,
            chosen.sha,
            chosen.subject,
            chosen.trailers.get(TRAILER_SOURCE_COMMIT),
            branch.where,
            branch.name,
            path,
            base,
            attempt,
            commit is not None and branch.remote,
        )
    raise AssertionError("unreachable")  # pragma: no cover
