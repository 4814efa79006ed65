"""Landing a handoff on a config branch: fetch the tip, make the edit, commit it and push.

When the push is refused because the branch moved on (another pipeline pushed first), fetch the new
tip, make the edit again on it and push again, after a random pause that doubles each time (full
jitter), up to :attr:`PushRetry.max_attempts` times. So concurrent handoffs to one repository all
land, each in its own commit, and none undoes another. An edit that changes nothing makes no commit.

The git behind the branch is the :class:`ConfigBranch` port; the composition layer
(:mod:`gitloop.service.handoff`) implements it over a worktree.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from gitloop.errors import GitError, SpecError, UsageError
from gitloop.handoff.edit import FieldChange, ImageEdit
from gitloop.handoff.plan import HandoffPlan

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "MAX_ATTEMPTS",
    "BranchMoved",
    "ConfigBranch",
    "HandoffResult",
    "PushRetry",
    "land",
]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BACKOFF_BASE = 0.2
BACKOFF_CAP = 8.0
_random = random.SystemRandom()


class BranchMoved(GitError):
    """The push was refused: the branch moved on since it was fetched."""


class LandingBranch(Protocol):
    """One branch of a config repository, as every landing (an image set, a revert) sees it: where it is,
    exclusive use of it, its tip, and a push that may find it moved."""

    @property
    def where(self) -> str:
        """The repository's URL (or, for a local-only checkout, its path), for messages."""
        ...

    @property
    def name(self) -> str:
        """The branch."""
        ...

    @property
    def remote(self) -> bool:
        """Whether :meth:`push` reaches a remote (else it only moves a local branch)."""
        ...

    def turn(self) -> AbstractContextManager[None]:
        """Exclusive use of the branch among this machine's handoffs, from fetch to push."""
        ...

    def fetch(self) -> str:
        """The branch's tip, fetched now."""
        ...

    def push(self, commit: str, *, parent: str) -> None:
        """Move the branch from ``parent`` to ``commit``; :class:`BranchMoved` if it is no longer at
        ``parent``."""
        ...


class ConfigBranch(LandingBranch, Protocol):
    """One branch of a config repository, as a handoff sees it."""

    def read_file(self, commit: str, file: str) -> tuple[bytes, str] | None:
        """The content and git mode of ``file`` at ``commit``; ``None`` if it is not there."""
        ...

    def commit_file(self, base: str, file: str, content: bytes, *, message: str, mode: str) -> str | None:
        """A commit on ``base`` that sets ``file`` to ``content``; ``None`` if that changes nothing."""
        ...


@dataclass(frozen=True)
class PushRetry:
    """How often and after what pause a refused push is tried again."""

    max_attempts: int = MAX_ATTEMPTS
    base: float = BACKOFF_BASE
    cap: float = BACKOFF_CAP
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise UsageError("max_attempts must be at least 1")

    def pause(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th refused push: uniform in [0, min(cap, base·2^(n-1))]."""
        return _random.uniform(0.0, min(self.cap, self.base * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class HandoffResult:
    """What happened: ``commit`` is ``None`` when the file already had the image (no commit)."""

    commit: str | None
    changed_files: tuple[str, ...]
    repository: str
    branch: str
    file: str
    image: str
    strategy: str
    changes: tuple[FieldChange, ...]
    base: str
    attempts: int
    pushed: bool
    checkout_updated: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "committed" if self.commit else "unchanged",
            "commit": self.commit,
            "changed_files": list(self.changed_files),
            "repository": self.repository,
            "branch": self.branch,
            "file": self.file,
            "image": self.image,
            "strategy": self.strategy,
            "changes": [c.as_dict() for c in self.changes],
            "base": self.base,
            "attempts": self.attempts,
            "pushed": self.pushed,
            "checkout_updated": self.checkout_updated,
        }


def _edit(branch: ConfigBranch, base: str, file: str, plan: HandoffPlan) -> tuple[ImageEdit, str]:
    found = branch.read_file(base, file)
    if found is None:
        raise SpecError(
            f"not found in branch {branch.name} of {branch.where} (commit {base[:12]})", file=file
        )
    content, mode = found
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"is not UTF-8 text: {exc}", file=file) from exc
    return plan.edit(text, file), mode


def land(branch: ConfigBranch, plan: HandoffPlan, file: str, *, retry: PushRetry) -> HandoffResult:
    """Make ``plan``'s edit of ``file`` on the tip of ``branch`` and push it, again on the new tip
    while the branch moves on (see the module documentation). ``GitError`` when it moved on before
    each of ``retry.max_attempts`` pushes."""
    where = branch.where
    message = plan.message(file, branch.name)
    for attempt in range(1, retry.max_attempts + 1):
        try:
            with branch.turn():
                base = branch.fetch()
                edit, mode = _edit(branch, base, file, plan)
                commit = None
                if edit.changed:
                    commit = branch.commit_file(
                        base, file, edit.text.encode("utf-8"), message=message, mode=mode
                    )
                if commit is None:
                    log.info(
                        "%s in %s branch %s already has %s: no commit", file, where, branch.name, plan.image
                    )
                    return HandoffResult(
                        None,
                        (),
                        where,
                        branch.name,
                        file,
                        plan.image,
                        edit.strategy,
                        (),
                        base,
                        attempt,
                        False,
                    )
                branch.push(commit, parent=base)
        except BranchMoved as exc:
            if attempt == retry.max_attempts:
                raise GitError(
                    f"gave up setting {plan.image} in {file}: branch {branch.name} of {where} moved on "
                    f"before each of {retry.max_attempts} pushes"
                ) from exc
            pause = retry.pause(attempt)
            log.info(
                "push %d of %s to %s was refused (branch moved); again in %.2fs", attempt, file, where, pause
            )
            retry.sleep(pause)
            continue
        log.info("set %s in %s: commit %s on %s of %s", plan.image, file, commit[:12], branch.name, where)
        return HandoffResult(
            commit,
            (file,),
            where,
            branch.name,
            file,
            plan.image,
            edit.strategy,
            edit.changes,
            base,
            attempt,
            branch.remote,
        )
    raise AssertionError("unreachable")  # pragma: no cover
